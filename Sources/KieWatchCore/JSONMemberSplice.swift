/// Finds a JSON object's top-level string members by name in the raw bytes and replaces their
/// values in place, leaving every other byte as it came.
///
/// Parsing a body and serializing it again changes what the app sent: `12345678901234567890`
/// becomes `1.2345678901234567e+19`, `-0.0`, `1.0` and `10E2` change form, escapes and spacing
/// move. The proxy must hand Kie the app's bytes with only the callback URL swapped, so this
/// reads the whole document once (its structure validated as RFC 8259 says, no values built),
/// notes where the wanted members' values start and end, and splices. What is inside a string
/// is not held against the body (bytes that are not UTF-8, a lone surrogate escape, which
/// decodes to U+FFFD): a lenient parser at Kie would read such a body, and then it must carry
/// the agent's URL, not the app's.
///
/// Keys are compared after unescaping (`"callBack\u0055rl"` is `callBackUrl`); only members of
/// the outermost object count, so a `callBackUrl` inside `input` or an array is never touched.
public enum JSONMemberSplice {
    /// One top-level member whose value is a string.
    public struct StringMember: Sendable, Equatable {
        /// The value's bytes in the document, quotes included.
        public var range: Range<Int>
        /// The value, unescaped.
        public var value: String
    }

    /// The top-level members named `key` whose values are strings, in document order; nil when
    /// `bytes` is not exactly one valid JSON object (surrounding whitespace allowed).
    public static func stringMembers(named key: String, in bytes: [UInt8]) -> [StringMember]? {
        var scanner = Scanner(bytes: bytes, key: Array(key.utf8))
        return scanner.scanDocument() ? scanner.found : nil
    }

    /// `bytes` with the value of each of `members` (from `stringMembers`) replaced by `value`
    /// as a JSON string; everything else byte for byte.
    public static func replacing(_ members: [StringMember], in bytes: [UInt8], with value: String) -> [UInt8] {
        guard !members.isEmpty else { return bytes }
        let encoded = encodeString(value)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + members.count * encoded.count)
        var copied = 0
        for member in members.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            out.append(contentsOf: bytes[copied..<member.range.lowerBound])
            out.append(contentsOf: encoded)
            copied = member.range.upperBound
        }
        out.append(contentsOf: bytes[copied...])
        return out
    }

    /// `value` as a JSON string literal: quotes, backslashes and control characters escaped.
    public static func encodeString(_ value: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in value.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
        return out
    }

    /// A validating pass over one document without recursion (a hostile nesting depth costs a
    /// byte per level, never stack).
    private struct Scanner {
        let bytes: [UInt8]
        let key: [UInt8]
        var index = 0
        var found: [StringMember] = []

        init(bytes: [UInt8], key: [UInt8]) {
            self.bytes = bytes
            self.key = key
        }

        /// What the next token may be.
        private enum Expect { case value, keyOrClose, key, colon, commaOrClose, valueOrClose }

        mutating func scanDocument() -> Bool {
            skipWhitespace()
            guard peek == UInt8(ascii: "{") else { return false }
            index += 1
            // One byte per open container: `{` or `[`.
            var open: [UInt8] = [UInt8(ascii: "{")]
            var expect = Expect.keyOrClose
            // The member being read is top-level and named `key`.
            var wanted = false
            while !open.isEmpty {
                skipWhitespace()
                guard let byte = peek else { return false }
                switch expect {
                case .keyOrClose, .key:
                    if expect == .keyOrClose, byte == UInt8(ascii: "}") {
                        index += 1
                        open.removeLast()
                        expect = .commaOrClose
                        continue
                    }
                    guard byte == UInt8(ascii: "\"") else { return false }
                    let topLevel = open.count == 1
                    guard let decoded = scanString(decode: topLevel) else { return false }
                    wanted = topLevel && decoded == key
                    expect = .colon
                case .colon:
                    guard byte == UInt8(ascii: ":") else { return false }
                    index += 1
                    expect = .value
                case .valueOrClose, .value:
                    if expect == .valueOrClose, byte == UInt8(ascii: "]") {
                        index += 1
                        open.removeLast()
                        expect = .commaOrClose
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "{"):
                        index += 1
                        open.append(byte)
                        expect = .keyOrClose
                        wanted = false
                        continue
                    case UInt8(ascii: "["):
                        index += 1
                        open.append(byte)
                        expect = .valueOrClose
                        wanted = false
                        continue
                    case UInt8(ascii: "\""):
                        let start = index
                        guard let decoded = scanString(decode: wanted) else { return false }
                        if wanted {
                            found.append(StringMember(
                                range: start..<index, value: String(decoding: decoded, as: UTF8.self)))
                        }
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        guard scanNumber() else { return false }
                    case UInt8(ascii: "t"): guard scanLiteral("true") else { return false }
                    case UInt8(ascii: "f"): guard scanLiteral("false") else { return false }
                    case UInt8(ascii: "n"): guard scanLiteral("null") else { return false }
                    default: return false
                    }
                    wanted = false
                    expect = .commaOrClose
                case .commaOrClose:
                    let container = open[open.count - 1]
                    if byte == UInt8(ascii: ",") {
                        index += 1
                        expect = container == UInt8(ascii: "{") ? .key : .value
                    } else if byte == UInt8(ascii: "}") && container == UInt8(ascii: "{")
                        || byte == UInt8(ascii: "]") && container == UInt8(ascii: "[")
                    {
                        index += 1
                        open.removeLast()
                    } else {
                        return false
                    }
                }
            }
            skipWhitespace()
            return index == bytes.count
        }

        private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        private mutating func scanLiteral(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            let matches = literal.withUTF8Buffer { expected in
                expected.elementsEqual(bytes[index..<(index + count)])
            }
            guard matches else { return false }
            index += count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        private mutating func scanNumber() -> Bool {
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, isDigit(first) else { return false }
            index += 1
            if first != UInt8(ascii: "0") { skipDigits() }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard let d = peek, isDigit(d) else { return false }
                skipDigits()
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard let d = peek, isDigit(d) else { return false }
                skipDigits()
            }
            return true
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        private mutating func skipDigits() {
            while let d = peek, isDigit(d) { index += 1 }
        }

        /// Reads a string starting at its opening quote, leaving `index` after the closing one;
        /// nil when it is not a valid JSON string. `decode` asks for the unescaped bytes (a lone
        /// surrogate escape becomes U+FFFD); otherwise `bytes` is empty.
        private mutating func scanString(decode: Bool) -> [UInt8]? {
            index += 1  // the opening quote
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return out
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escape = peek else { return nil }
                    index += 1
                    let simple: UInt8?
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = escape
                    case UInt8(ascii: "b"): simple = 0x08
                    case UInt8(ascii: "f"): simple = 0x0C
                    case UInt8(ascii: "n"): simple = 0x0A
                    case UInt8(ascii: "r"): simple = 0x0D
                    case UInt8(ascii: "t"): simple = 0x09
                    case UInt8(ascii: "u"): simple = nil
                    default: return nil
                    }
                    if let simple {
                        if decode { out.append(simple) }
                        continue
                    }
                    guard let unit = hex4() else { return nil }
                    guard decode else { continue }
                    var scalar = Unicode.Scalar(unit)
                    if (0xD800...0xDBFF).contains(unit), bytes.count - index >= 6,
                        bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        if let low = hex4(), (0xDC00...0xDFFF).contains(low) {
                            let combined = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                            scalar = Unicode.Scalar(combined)
                        } else {
                            index = save  // not a pair: the next escape is read on its own
                        }
                    }
                    UTF8.encode(scalar ?? "\u{FFFD}") { out.append($0) }
                case 0..<0x20:
                    return nil
                default:
                    if decode { out.append(byte) }
                    index += 1
                }
            }
            return nil
        }

        /// Four hex digits after `\u`.
        private mutating func hex4() -> UInt16? {
            guard bytes.count - index >= 4 else { return nil }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt16(digit)
                index += 1
            }
            return value
        }
    }
}
