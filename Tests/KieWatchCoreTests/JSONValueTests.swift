import KieWatchCore
import Testing

@Suite struct JSONValueTests {
    @Test func parsesEveryKind() throws {
        let v = try JSONValue.parse(#" {"a":[1,-2.5e3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"],"b":{}} "#)
        #expect(v["a"]?.arrayValue?.count == 6)
        #expect(v["a"]?.arrayValue?[0] == .int(1))
        #expect(v["a"]?.arrayValue?[1] == .double(-2500))
        #expect(v["a"]?.arrayValue?[5] == .string("x\"\\/\u{8}\u{c}\n\r\té😀"))
        #expect(v["b"] == .object([]))
    }

    @Test func roundTripsKeepingOrder() throws {
        let text = #"{"z":1,"a":"é\n","m":[null,true,1.5,{"k":"v"}]}"#
        #expect(try JSONValue.parse(text).serialized() == text)
    }

    @Test func escapesControlCharacters() {
        #expect(JSONValue.string("\u{1}\u{7f}").serialized() == #""\u0001\u007f""#)
    }

    @Test func rejectsMalformedInputWithOffsets() {
        let cases: [(String, Int)] = [
            ("", 0), ("{", 1), (#"{"a":1,}"#, 7), ("[1 2]", 3), ("01", 1), ("1.", 2), ("tru", 0),
            (#""abc"#, 4), (#"{"a" 1}"#, 5), ("\"\u{1}\"", 1), (#""\x""#, 3), (#""\ud800""#, 7), ("1 2", 2),
        ]
        for (text, offset) in cases {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
            do {
                _ = try JSONValue.parse(text)
            } catch {
                #expect(error.offset == offset, "\(text): \(error)")
            }
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(#"{"a":"ok","b":"x"#.utf8) + [0xC3, 0x22, 0x7D]) }
    }

    @Test func embeddedJSONAndNumbersInStringsIgnoreSurroundingWhitespace() {
        #expect(JSONValue.string(" \t{\"a\":[1]}\r\n").unwrappingEmbeddedJSON == ["a": [1]])
        #expect(JSONValue.string("[\"é\"]  ").unwrappingEmbeddedJSON == ["é"])
        #expect(JSONValue.string(" 🎬 done ").unwrappingEmbeddedJSON == .string(" 🎬 done "))
        #expect(JSONValue.string(" 12.5\t").doubleValue == 12.5)
        #expect(JSONValue.string("\n42 ").intValue == 42)
        #expect(JSONValue.string("   ").doubleValue == nil)
    }

    /// JSON has no NaN or infinity, but a parser meets both: `1e400` overflows to +inf (the
    /// document still parses), and `Double("NaN")` reads a string. `doubleValue` gives neither.
    @Test func doubleValueIsAlwaysFinite() throws {
        let v = try JSONValue.parse(#"{"big":1e400,"small":-1e400,"s":"NaN","i":"inf","x":"-Infinity","ok":"1e3"}"#)
        #expect(v["big"] == .double(.infinity))
        for key in ["big", "small", "s", "i", "x"] { #expect(v[key]?.doubleValue == nil, "\(key)") }
        #expect(v["ok"]?.doubleValue == 1000)
        #expect(JSONValue.double(.nan).doubleValue == nil)
        #expect(JSONValue.int(Int64.max).doubleValue == 9.223372036854775807e18)
    }

    @Test func keepsUnescapedNonASCIIAndASCIIStringsExactly() throws {
        let v = try JSONValue.parse(Array(#"{"ascii":"bench-42","latin":"naïve café","emoji":"🎬 done","empty":""}"#.utf8))
        #expect(v["ascii"] == .string("bench-42"))
        #expect(v["latin"] == .string("naïve café"))
        #expect(v["emoji"] == .string("🎬 done"))
        #expect(v["empty"] == .string(""))
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(fine)) != nil)
    }

    @Test func tolerantAccessors() {
        #expect(JSONValue.string(" 42 ").intValue == 42)
        #expect(JSONValue.double(3.0).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.string("").nonEmptyString == nil)
        #expect(JSONValue.int(7).stringValue == "7")
        let o: JSONValue = ["msg": nil, "message": "hi"]
        #expect(o.first("msg", "message") == "hi")
        #expect(JSONValue.string(#"{"a":1}"#).unwrappingEmbeddedJSON["a"] == .int(1))
        #expect(JSONValue.string("{oops").unwrappingEmbeddedJSON == .string("{oops"))
    }

    @Test func bigIntegersBecomeDoubles() throws {
        #expect(try JSONValue.parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
    }
}
