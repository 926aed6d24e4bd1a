import KieWatchCore
import Testing

@Suite struct EchoedCallbackURLTests {
    static let agent = "http://127.0.0.1:9464/webhooks/kie/0123456789abcdef0123456789abcdef?secret=s3cr3t"
    static let app = "https://app.example/hooks/kie?secret=app&x=\"1\""
    static let echo = EchoedCallbackURL(
        bases: ["http://127.0.0.1:9464/webhooks/kie", "http://127.0.0.1:9464/webhooks/veo"],
        queries: ["", "?secret=s3cr3t", "?secret=REDACTED"])

    func replaced(_ text: String, with url: String = app) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: EchoedCallbackURL.replacing(Self.echo.echoes(in: bytes), in: bytes, with: url), as: UTF8.self)
    }

    /// What Kie sends: the request as JSON text in `param`, slashes escaped by one serializer.
    @Test func kiesParamEchoGetsTheAppsURLAtTheSameDepthAndStyle() throws {
        let body = #"{"code":200,"data":{"taskId":"t1","param":"{\"model\":\"m\",\"callBackUrl\":\"http:\\\/\\\/127.0.0.1:9464\\\/webhooks\\\/kie\\\/0123456789abcdef0123456789abcdef?secret=s3cr3t\",\"input\":{}}","resultJson":"{\"resultUrls\":[\"http:\/\/127.0.0.1:9464\/webhooks\/kie\/t.mp4\"]}"}}"#
        let out = replaced(body)
        #expect(out == #"{"code":200,"data":{"taskId":"t1","param":"{\"model\":\"m\",\"callBackUrl\":\"https:\\\/\\\/app.example\\\/hooks\\\/kie?secret=app&x=\\\"1\\\"\",\"input\":{}}","resultJson":"{\"resultUrls\":[\"http:\/\/127.0.0.1:9464\/webhooks\/kie\/t.mp4\"]}"}}"#)
        let param = try JSONValue.parse(Array(out.utf8))["data"]?["param"]?.stringValue ?? ""
        #expect(try JSONValue.parse(Array(param.utf8))["callBackUrl"] == .string(Self.app))
    }

    @Test func theEchoesCarryTheirTokenAndDepth() {
        let body = Array(#"{"a":"http://127.0.0.1:9464/webhooks/veo?secret=REDACTED","b":"{\"c\":\"\#(Self.agent)\"}"}"#.utf8)
        let found = Self.echo.echoes(in: body)
        #expect(found.map(\.token) == [nil, "0123456789abcdef0123456789abcdef"])
        #expect(found.map(\.styles.count) == [1, 2])
    }

    /// Only a whole string that is an agent URL is an echo: a longer URL, another query, a
    /// prompt quoting it, another host stay as they are.
    @Test func onlyWholeAgentURLsAreEchoes() {
        let untouched = [
            #"{"u":"\#(Self.agent)/more"}"#,
            #"{"u":"\#(Self.agent)&x=1"}"#,
            #"{"u":"http://127.0.0.1:9464/webhooks/kie/tok?secret=other"}"#,
            #"{"u":"see \#(Self.agent)"}"#,
            #"{"u":"http://127.0.0.1:9465/webhooks/kie/tok"}"#,
            #"{"u":"http://127.0.0.1:9464/webhooks/kie/"}"#,
            #"{"u":"http://127.0.0.1:9464/webhooks/kie/\#(String(repeating: "a", count: 65))"}"#,
            #"{"u":"http://127.0.0.1:9464/webhooks/kie/a.b"}"#,
            #"{"u":"\#(Self.agent)"#,
            "\(Self.agent)",
        ]
        for text in untouched { #expect(replaced(text) == text, "\(text)") }
        #expect(replaced(#"{"u":"http://127.0.0.1:9464/webhooks/kie","v":"http://127.0.0.1:9464/webhooks/kie/a-_Z9"}"#, with: "X")
            == #"{"u":"X","v":"X"}"#)
    }

    @Test func unicodeEscapesAreDecodedAndReused() {
        // Gson writes `=` as \u003d; the app's `=` and `&`... only `=` was seen escaped.
        let body = #"{"p":"{\"callBackUrl\":\"http://127.0.0.1:9464/webhooks/kie?secret\\u003ds3cr3t\"}"}"#
        #expect(replaced(body, with: "https://a/h?k=v&w") == #"{"p":"{\"callBackUrl\":\"https://a/h?k\\u003dv&w\"}"}"#)
    }

    @Test func theDepthOfAStringIsReadFromTheBackslashesBeforeItsQuote() {
        let cases: [(String, Int?)] = [
            (#"x""#, 1), (#"\""#, 2), (#"\\""#, 1), (#"\\\""#, 3), (#"\\\\\\\""#, 4), (#"\\\\\\\\\\\\\\\""#, nil),
        ]
        for (text, depth) in cases {
            let bytes = Array(text.utf8)
            #expect(EchoedCallbackURL.depth(openingQuoteAt: bytes.count - 1, in: bytes) == depth, "\(text)")
        }
    }

    /// Random agent and app URLs, at random depths in random styles, among decoys: replacing
    /// the echoes of the agent's URL gives exactly the body built with the app's URL instead.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func aBodyWithTheEchoReplacedIsTheBodyBuiltWithTheAppsURL(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let base = random.pick(["http://127.0.0.1:9464", "https://hooks.example/kw"]) + random.pick(["/webhooks/kie", "/webhooks/veo"])
            let token = random.coin() ? "" : "/" + random.string(from: "0123456789abcdef-_XY", count: 1 + random.below(64))
            let secret = random.string(from: "abcAB09%2F-._~", count: 1 + random.below(12))
            let query = random.pick(["", "?secret=" + secret, "?secret=REDACTED"])
            let agentURL = base + token + query
            let appURL = random.string(from: "ab/:?=&\"\\\n\u{1}é%#", count: random.below(40))
            let echo = EchoedCallbackURL(
                bases: ["http://127.0.0.1:9464/webhooks/kie", "http://127.0.0.1:9464/webhooks/veo",
                        "https://hooks.example/kw/webhooks/kie", "https://hooks.example/kw/webhooks/veo"],
                queries: ["", "?secret=" + secret, "?secret=REDACTED"])
            let depth = 1 + random.below(3)
            let styles = (0..<depth).map { _ in
                EchoedCallbackURL.Style(
                    escapesSolidus: random.coin(),
                    unicodeEscaped: Set(Array("=?:.".utf8).filter { agentURL.utf8.contains($0) && random.below(4) == 0 }))
            }
            let decoys = [agentURL + "#", "see " + agentURL, random.string(from: "ab/\"", count: 5)]
            let withAgent = Self.body(url: agentURL, decoys: decoys, styles: styles)
            let withApp = Self.body(url: appURL, decoys: decoys, styles: styles)
            let found = echo.echoes(in: withAgent)
            #expect(found.count == 1, "\(String(decoding: withAgent, as: UTF8.self))")
            #expect(found.first?.token == (token.isEmpty ? nil : String(token.dropFirst())))
            let out = EchoedCallbackURL.replacing(found, in: withAgent, with: appURL)
            #expect(out == withApp, "\(String(decoding: withAgent, as: UTF8.self)) -> \(String(decoding: out, as: UTF8.self))")
            // Read back with the parser, level by level.
            var value = try JSONValue.parse(out)
            for _ in 1..<depth { value = try JSONValue.parse(Array((value["p"]?.stringValue ?? "").utf8)) }
            #expect(value["callBackUrl"] == .string(appURL))
        }
    }

    /// Whatever the bytes, the search ends and never traps.
    @Test func randomBytesNeverTrap() {
        var random = SplitMix64(seed: 99)
        let alphabet = Array(#"\"/:hHtp?=u0a{}[],"#.utf8) + Array(Self.agent.utf8) + [0, 0xFF, 0x0A]
        for _ in 0..<2_000 {
            let bytes = (0..<random.below(300)).map { _ in alphabet[random.below(alphabet.count)] }
            let found = Self.echo.echoes(in: bytes)
            _ = EchoedCallbackURL.replacing(found, in: bytes, with: "x")
        }
    }

    // MARK: Building bodies

    /// `{"p": <level 1>, "d": [decoys]}` where each level's text holds the next level as a
    /// string, and the innermost holds `"callBackUrl": url`.
    static func body(url: String, decoys: [String], styles: [EchoedCallbackURL.Style]) -> [UInt8] {
        func list(_ style: EchoedCallbackURL.Style) -> [UInt8] {
            var out = Array("[0".utf8)
            for decoy in decoys { out += Array(",\"".utf8) + escape(Array(decoy.utf8), style) + [UInt8(ascii: "\"")] }
            return out + [UInt8(ascii: "]")]
        }
        let innermost = styles[styles.count - 1]
        var text = Array(#"{"n":1,"callBackUrl":""#.utf8) + escape(Array(url.utf8), innermost)
            + Array(#"","d":"#.utf8) + list(innermost) + Array(#","tail":[1.50]}"#.utf8)
        for level in stride(from: styles.count - 2, through: 0, by: -1) {
            text = Array(#"{"p":""#.utf8) + escape(text, styles[level]) + Array(#"","d":"#.utf8) + list(styles[level]) + Array("}".utf8)
        }
        return text
    }

    /// An escaper written apart from the one under test.
    static func escape(_ bytes: [UInt8], _ style: EchoedCallbackURL.Style) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case UInt8(ascii: "/"): out += style.escapesSolidus ? Array(#"\/"#.utf8) : [b]
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case _ where b < 0x20 || style.unicodeEscaped.contains(b):
                let hex = String(b, radix: 16)
                out += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: out.append(b)
            }
        }
        return out
    }
}

/// A small seeded generator (SplitMix64): the same cases on every run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func coin() -> Bool { next() & 1 == 1 }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func string(from alphabet: String, count: Int) -> String {
        let characters = Array(alphabet)
        return String((0..<count).map { _ in characters[below(characters.count)] })
    }
}
