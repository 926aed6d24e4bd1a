import KieWatchCore
import Testing

@Suite struct JSONMemberSpliceTests {
    static let newURL = "http://127.0.0.1:9464/webhooks/kie/0123456789abcdef0123456789abcdef?secret=a\"b\\c"

    func splice(_ text: String, with url: String = newURL) -> String? {
        let bytes = Array(text.utf8)
        guard let members = JSONMemberSplice.stringMembers(named: "callBackUrl", in: bytes) else { return nil }
        return String(decoding: JSONMemberSplice.replacing(members, in: bytes, with: url), as: UTF8.self)
    }

    @Test func onlyTheTopLevelValueChangesAndNumbersKeepTheirSpelling() {
        let body = #"{"n":12345678901234567890,"z":-0.0,"one":1.0,"e":10E2,"callBackUrl":"https://app/h?secret=s","input":{"callBackUrl":"keep"}}"#
        #expect(splice(body, with: "X") == #"{"n":12345678901234567890,"z":-0.0,"one":1.0,"e":10E2,"callBackUrl":"X","input":{"callBackUrl":"keep"}}"#)
    }

    @Test func escapedKeysMatchAndValuesAreUnescaped() throws {
        let body = #"{ "callBack\u0055rl" : "https:\/\/app.example\/h?a=1\u0026secret=\u00e9" }"#
        let members = try #require(JSONMemberSplice.stringMembers(named: "callBackUrl", in: Array(body.utf8)))
        #expect(members.map(\.value) == ["https://app.example/h?a=1&secret=é"])
        #expect(splice(body, with: "u") == #"{ "callBack\u0055rl" : "u" }"#)
    }

    @Test func theNewValueIsEncodedAsAJSONString() throws {
        let out = try #require(splice(#"{"callBackUrl":"x"}"#, with: "a\"b\\c\n\u{1}é"))
        #expect(out == #"{"callBackUrl":"a\"b\\c\n\u0001é"}"#)
        #expect(try JSONValue.parse(out)["callBackUrl"] == .string("a\"b\\c\n\u{1}é"))
    }

    @Test func everyTopLevelDuplicateIsReplacedAndNonStringsAreLeft() throws {
        let body = #"{"callBackUrl":"a","callBackUrl":null,"callBackUrl":"b","callbackUrl":"c","callBackURL":"d"}"#
        #expect(splice(body, with: "X") == #"{"callBackUrl":"X","callBackUrl":null,"callBackUrl":"X","callbackUrl":"c","callBackURL":"d"}"#)
    }

    @Test func notOneJSONObjectIsNil() {
        let invalid = [
            "", "[]", #"["callBackUrl","x"]"#, #""callBackUrl""#, "null", "{", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":01}"#,
            #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":+1}"#, #"{"a":tru}"#, #"{"a":[1}"#, #"{"a":1}}"#, #"{"a":1} x"#,
            #"{"a":"\x"}"#, "{\"a\":\"\u{1}\"}", #"{"a":"\u12"}"#, #"{"callBackUrl":"x""#, #"{a:1}"#, #"{"a":1 "b":2}"#,
        ]
        for text in invalid {
            #expect(JSONMemberSplice.stringMembers(named: "callBackUrl", in: Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONMemberSplice.stringMembers(named: "callBackUrl", in: Array(" \r\n{}\t".utf8)) == [])
    }

    /// A lenient parser at Kie would read this body, so it must carry the agent's URL.
    @Test func whatIsInsideAStringDoesNotHideTheCallbackURL() {
        let body = Array(#"{"prompt":"bad "#.utf8) + [0xFF, 0xC3] + Array(#" \ud800 x","callBackUrl":"\ud800u"}"#.utf8)
        #expect(JSONMemberSplice.stringMembers(named: "callBackUrl", in: body)?.map(\.value) == ["\u{FFFD}u"])
        #expect((try? JSONValue.parse(body)) == nil, "the strict parser refuses it")
    }

    @Test func deepNestingCostsNoStack() {
        let depth = 200_000
        let body = #"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + #","callBackUrl":"u"}"#
        #expect(JSONMemberSplice.stringMembers(named: "callBackUrl", in: Array(body.utf8))?.map(\.value) == ["u"])
    }

    // MARK: Seeded random bodies

    /// Random create bodies, each built from pieces whose bytes are known: the expected output
    /// is the same pieces with only the top-level callBackUrl values swapped, so every other
    /// byte is compared exactly.
    @Test(arguments: 0..<400) func randomBodiesChangeOnlyTheTopLevelCallbackURL(seed: Int) throws {
        var gen = BodyGenerator(seed: UInt64(seed))
        let pieces = gen.body()
        let body = pieces.flatMap(\.bytes)
        let targets = pieces.compactMap(\.target)
        let members = try #require(
            JSONMemberSplice.stringMembers(named: "callBackUrl", in: body), "\(String(decoding: body, as: UTF8.self))")
        #expect(members.map(\.value) == targets)
        let replaced = JSONMemberSplice.replacing(members, in: body, with: Self.newURL)
        let expected = pieces.flatMap { $0.target == nil ? $0.bytes : JSONMemberSplice.encodeString(Self.newURL) }
        #expect(replaced == expected, "\(String(decoding: body, as: UTF8.self))")

        // The parser agrees: same members, only the top-level callBackUrl strings changed.
        let before = try JSONValue.parse(body)
        let after = try JSONValue.parse(replaced)
        guard case .object(let old) = before, case .object(let new) = after else {
            Issue.record("not objects")
            return
        }
        #expect(old.count == new.count)
        for (o, n) in zip(old, new) {
            #expect(o.key == n.key)
            if o.key == "callBackUrl", case .string = o.value {
                #expect(n.value == .string(Self.newURL))
            } else {
                #expect(o.value == n.value)
            }
        }
    }

    /// Random bodies with one byte changed or dropped: whenever the project's parser reads a
    /// JSON object, the scanner does too; for plain ASCII bodies without surrogate escapes
    /// (where only structure can differ) they agree both ways.
    @Test(arguments: 0..<200) func damagedBodiesAreJudgedAsTheParserJudgesThem(seed: Int) {
        var gen = BodyGenerator(seed: UInt64(seed) &+ 10_000)
        var body = gen.body().flatMap(\.bytes)
        let alphabet = Array(#"{}[]:,"\ 0123456789eE.-+tfnaulrs/"#.utf8)
        let at = gen.below(body.count)
        if gen.below(3) == 0 {
            body.remove(at: at)
        } else {
            body[at] = alphabet[gen.below(alphabet.count)]
        }
        let scanned = JSONMemberSplice.stringMembers(named: "callBackUrl", in: body) != nil
        let parsed = (try? JSONValue.parse(body))?.objectValue != nil
        let text = String(decoding: body, as: UTF8.self)
        if parsed { #expect(scanned, "\(text)") }
        if body.allSatisfy({ $0 < 0x80 }) && !text.lowercased().contains("\\ud") {
            #expect(scanned == parsed, "\(text)")
        }
    }
}

/// A piece of a generated body: bytes, and for a top-level callBackUrl string value the URL it
/// decodes to.
struct Piece {
    var bytes: [UInt8]
    var target: String?
    init(_ text: String, target: String? = nil) {
        bytes = Array(text.utf8)
        self.target = target
    }
}

/// Seeded bodies (SplitMix64): large integers, -0.0, exponents, unicode escapes, escaped keys,
/// random key order and whitespace, nested `callBackUrl` members and look-alike strings.
struct BodyGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let whitespace = ["", "", " ", "  ", "\t", "\n", "\r\n", " \n\t "]
    static let numbers = [
        "12345678901234567890", "-0.0", "1.0", "10E2", "1e-7", "-0", "0", "3.14159265358979323846264338327950288",
        "1E+400", "-1.5e-10", "9007199254740993", "-12345678901234567890123", "0.1e1", "5E-0",
    ]
    static let strings = [
        #""""#, #""a red panda""#, #""\u00e9t\u00E9""#, #""\ud83d\ude00 caf\u00e9""#, #""é 😀 raw""#, #""a\"b\\c\/d""#,
        #""\b\f\n\r\t""#, #""callBackUrl""#, #""{\"callBackUrl\":\"https://evil\"}""#, #""\\""#,
    ]
    /// Spellings of the key `callBackUrl`, and keys that only look like it.
    static let matchingKeys = [#""callBackUrl""#, #""callBack\u0055rl""#, #""\u0063allBackUrl""#, #""callBack\u0055\u0072l""#]
    static let lookAlikeKeys = [#""callbackUrl""#, #""callBackURL""#, #""callBackUrl ""#, #""callBack\\Url""#, #""callBackUrl\u0000""#]
    /// URL spellings and what they decode to.
    static let urls: [(String, String)] = [
        (#""https://app.example/hooks/kie?secret=s3cr3t""#, "https://app.example/hooks/kie?secret=s3cr3t"),
        (#""https:\/\/app.example\/h?a=1\u0026secret=x""#, "https://app.example/h?a=1&secret=x"),
        (#""https://app.example/caf\u00e9?s=\"q\"""#, "https://app.example/café?s=\"q\""),
        (#""https://app.example/😀?e=\ud83d\ude00""#, "https://app.example/😀?e=😀"),
        (#""""#, ""),
    ]

    mutating func ws() -> Piece { Piece(pick(Self.whitespace)) }

    /// A top-level object: members in random order, zero to two callBackUrl members.
    mutating func body() -> [Piece] {
        var members: [[Piece]] = []
        for _ in 0..<(1 + below(5)) {
            members.append([Piece(pick([#""model""#, #""input""#, #""prompt""#, #""n""#, #""extra""#] + Self.lookAlikeKeys))]
                + [ws(), Piece(":"), ws()] + value(depth: 0))
        }
        for _ in 0..<below(3) {
            let key = Piece(pick(Self.matchingKeys))
            let valuePieces: [Piece]
            switch below(6) {
            case 0: valuePieces = [Piece(pick(["null", "12", "true", "[]", #"{"callBackUrl":"x"}"#]))]
            default:
                let (spelled, decoded) = pick(Self.urls)
                valuePieces = [Piece(spelled, target: decoded)]
            }
            members.insert([key, ws(), Piece(":"), ws()] + valuePieces, at: below(members.count + 1))
        }
        var out = [ws(), Piece("{"), ws()]
        for (i, member) in members.enumerated() {
            if i > 0 { out += [ws(), Piece(","), ws()] }
            out += member
        }
        out += [ws(), Piece("}"), ws()]
        return out
    }

    /// Any value; objects and arrays nest, with callBackUrl members that must stay untouched.
    mutating func value(depth: Int) -> [Piece] {
        switch depth < 3 ? below(6) : below(3) {
        case 0: return [Piece(pick(Self.numbers))]
        case 1: return [Piece(pick(Self.strings))]
        case 2: return [Piece(pick(["true", "false", "null"]))]
        case 3:
            var out = [Piece("["), ws()]
            for i in 0..<below(4) {
                if i > 0 { out += [Piece(","), ws()] }
                out += value(depth: depth + 1)
            }
            return out + [ws(), Piece("]")]
        default:
            var out = [Piece("{"), ws()]
            for i in 0..<below(4) {
                if i > 0 { out += [ws(), Piece(","), ws()] }
                let key = pick(Self.matchingKeys + [#""prompt""#, #""duration""#])
                out += [Piece(key), ws(), Piece(":"), ws()]
                out += below(2) == 0 ? [Piece(pick(Self.urls).0)] : value(depth: depth + 1)
            }
            return out + [ws(), Piece("}")]
        }
    }
}

@Suite struct KieWireCallBackURLTests {
    @Test func theAppsURLIsTheFirstNonEmptyTopLevelString() throws {
        let body = Array(#"{"callBackUrl":"","input":{"callBackUrl":"n"},"callBackUrl":"https://a/h?secret=s","callBackUrl":"b"}"#.utf8)
        let field = try #require(KieWire.callBackURLField(in: body))
        #expect(field.url == "https://a/h?secret=s")
        #expect(field.members.count == 3)
        let out = String(decoding: KieWire.replacingCallBackURL(field, in: body, with: "K"), as: UTF8.self)
        #expect(out == #"{"callBackUrl":"K","input":{"callBackUrl":"n"},"callBackUrl":"K","callBackUrl":"K"}"#)
    }

    @Test func noCallbackURLNoField() {
        for text in [#"{"model":"m"}"#, #"{"callBackUrl":""}"#, #"{"callBackUrl":null}"#, #"{"input":{"callBackUrl":"x"}}"#,
                     #"[{"callBackUrl":"x"}]"#, #"{"callBackUrl":"x""#] {
            #expect(KieWire.callBackURLField(in: Array(text.utf8)) == nil, "\(text)")
        }
    }
}
