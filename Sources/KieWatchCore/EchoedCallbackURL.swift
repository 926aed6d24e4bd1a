/// Finds the callback URL the agent gave Kie where Kie echoes it back, and writes another URL
/// in its place, escaped exactly as the echo was.
///
/// Kie echoes the create request in its status answers and callbacks: `param` (market) and
/// `paramJson` (Veo) are JSON strings holding the request as JSON text, so the callBackUrl the
/// agent sent sits in a string inside a string:
/// `"param":"{\"callBackUrl\":\"http://agent/webhooks/kie/<token>?secret=s\"}"`. Each
/// serializer on the way chooses its escapes (`/` or `\/`; some write `=` as `\u003d`), and
/// the depth depends on how the body was built. So a match is found by decoding JSON escapes
/// level by level, not by comparing bytes: an echo is a *whole* JSON string value, nested up to
/// `maxDepth` strings deep, whose decoded text is one of the agent's URLs (one of `bases`, then
/// optionally `/` and a route token, then one of `queries`). Its replacement is written at the
/// same depth, each level in the style the echo showed there, and every other byte of the body
/// stays as it came.
///
/// The depth of a candidate string is read from the backslashes before its opening quote: a raw
/// `"` opens a string in the body (depth 1), `\"` one inside a string (2), `\\\"` one more
/// level down (3). Only strings that begin right after such a quote are candidates, so a URL
/// that merely contains an agent URL is never touched.
public struct EchoedCallbackURL: Sendable {
    /// Strings nested deeper than this are not searched (Kie's echo is at depth 2).
    public static let maxDepth = 4
    /// Longest route token: `A-Z a-z 0-9 - _`, as the agent's webhook paths accept.
    public static let maxTokenLength = 64

    /// How one level of escaping wrote what the echo showed: applied again to the replacement.
    public struct Style: Sendable, Equatable {
        /// `/` was written `\/` at this level.
        public var escapesSolidus = false
        /// ASCII characters that were written as `\u00XX` at this level (`=` by Gson, say).
        public var unicodeEscaped: Set<UInt8> = []

        public init(escapesSolidus: Bool = false, unicodeEscaped: Set<UInt8> = []) {
            self.escapesSolidus = escapesSolidus
            self.unicodeEscaped = unicodeEscaped
        }
    }

    /// One echoed URL in a body.
    public struct Echo: Sendable, Equatable {
        /// The string value's bytes in the body, without its quotes (they stay).
        public var range: Range<Int>
        /// The route token in the URL (`/webhooks/kie/<token>`), if it has one.
        public var token: String?
        /// One style per level, outermost (the body's own strings) first; `count` is the depth.
        public var styles: [Style]
    }

    private let bases: [[UInt8]]
    private let queries: [[UInt8]]
    private let longest: Int

    /// - Parameters:
    ///   - bases: what every agent URL starts with (`https://agent.example/webhooks/kie`).
    ///   - queries: what may end it after the optional `/<token>` (`""`, `"?secret=s"`).
    public init(bases: [String], queries: [String]) {
        self.bases = bases.map { Array($0.utf8) }.filter { !$0.isEmpty }
        self.queries = queries.map { Array($0.utf8) }
        longest = (self.bases.map(\.count).max() ?? 0) + 1 + Self.maxTokenLength + (self.queries.map(\.count).max() ?? 0)
    }

    /// The echoes in `body`, in order (never overlapping).
    public func echoes(in body: [UInt8]) -> [Echo] {
        guard !bases.isEmpty else { return [] }
        let firsts = Set(bases.map { $0[0] })
        var found: [Echo] = []
        var q = 0
        while q + 1 < body.count {
            defer { q += 1 }
            guard body[q] == UInt8(ascii: "\""), firsts.contains(body[q + 1]) || body[q + 1] == UInt8(ascii: "\\")
            else { continue }
            guard let depth = Self.depth(openingQuoteAt: q, in: body), let echo = match(at: q + 1, depth: depth, in: body)
            else { continue }
            found.append(echo)
            q = echo.range.upperBound - 1
        }
        return found
    }

    /// `body` with each echo replaced by `url`, written at the echo's depth in its styles.
    public static func replacing(_ echoes: [Echo], in body: [UInt8], with url: String) -> [UInt8] {
        guard !echoes.isEmpty else { return body }
        var out: [UInt8] = []
        out.reserveCapacity(body.count + echoes.count * url.utf8.count * 2)
        var copied = 0
        for echo in echoes.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where echo.range.lowerBound >= copied {
            out.append(contentsOf: body[copied..<echo.range.lowerBound])
            out.append(contentsOf: encode(url, styles: echo.styles))
            copied = echo.range.upperBound
        }
        out.append(contentsOf: body[copied...])
        return out
    }

    /// `text` as the contents of a string `styles.count` levels deep (innermost escaped first).
    public static func encode(_ text: String, styles: [Style]) -> [UInt8] {
        var bytes = Array(text.utf8)
        for style in styles.reversed() {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 8)
            for b in bytes {
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [0x5C, b]
                case UInt8(ascii: "/") where style.escapesSolidus: out += [0x5C, b]
                case 0x0A: out += [0x5C, UInt8(ascii: "n")]
                case 0x0D: out += [0x5C, UInt8(ascii: "r")]
                case 0x09: out += [0x5C, UInt8(ascii: "t")]
                case 0x00..<0x20, 0x7F: out += unicodeEscape(b)
                case _ where style.unicodeEscaped.contains(b): out += unicodeEscape(b)
                default: out.append(b)
                }
            }
            bytes = out
        }
        return bytes
    }

    private static func unicodeEscape(_ b: UInt8) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        return [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
    }

    // MARK: Matching

    /// How deep the string opened by the quote at `q` is: each odd run of backslashes before a
    /// quote means the quote is itself escaped, one level further in.
    package static func depth(openingQuoteAt q: Int, in body: [UInt8]) -> Int? {
        var slashes = 0
        var i = q
        while i > 0, body[i - 1] == UInt8(ascii: "\\") {
            slashes += 1
            i -= 1
        }
        var depth = 1
        while slashes % 2 == 1 {
            slashes = (slashes - 1) / 2
            depth += 1
            if depth > maxDepth { return nil }
        }
        return depth
    }

    /// The echo starting at `start`, if the string there decodes to an agent URL.
    private func match(at start: Int, depth: Int, in body: [UInt8]) -> Echo? {
        var decoder = Decoder(body: body, styles: Array(repeating: Style(), count: depth + 1))
        var text: [UInt8] = []
        var live = Array(bases.indices)
        var i = start
        while true {
            let step = decoder.read(level: depth, at: i)
            switch step {
            case .invalid:
                return nil
            case .end:
                guard let token = accepts(text) else { return nil }
                return Echo(range: start..<i, token: token.isEmpty ? nil : token, styles: Array(decoder.styles.dropFirst()))
            case .char(let c, let next):
                // Drop bases this text no longer starts with, so most strings end in a byte or two.
                if text.count < longest {
                    live.removeAll { index in
                        let base = bases[index]
                        return text.count < base.count && base[text.count] != c
                    }
                    if live.isEmpty { return nil }
                } else {
                    return nil
                }
                text.append(c)
                i = next
            }
        }
    }

    /// The token (empty when there is none) if `text` is one of the agent's URLs.
    private func accepts(_ text: [UInt8]) -> String? {
        for base in bases where text.starts(with: base) {
            var rest = text[base.count...]
            var token: ArraySlice<UInt8> = []
            if rest.first == UInt8(ascii: "/") {
                let tokenStart = rest.startIndex + 1
                var end = tokenStart
                while end < rest.endIndex, Self.isTokenByte(rest[end]) { end += 1 }
                token = rest[tokenStart..<end]
                guard (1...Self.maxTokenLength).contains(token.count) else { continue }
                rest = rest[end...]
            }
            if queries.contains(where: { rest.elementsEqual($0) }) { return String(decoding: token, as: UTF8.self) }
        }
        return nil
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Decodes the text of a string nested `level` deep, one character at a time, noting the
    /// escapes each level used. Bytes outside ASCII pass as they are; a `\u` escape of a
    /// character outside ASCII ends the search, since an agent URL is ASCII.
    private struct Decoder {
        let body: [UInt8]
        var styles: [Style]

        enum Step: Equatable {
            case char(UInt8, next: Int)
            /// The string's closing quote (at the level above) starts here.
            case end
            case invalid
        }

        /// One character of level `level` text at `i`; level 0 is the body's raw bytes.
        mutating func read(level: Int, at i: Int) -> Step {
            guard level > 0 else { return i < body.count ? .char(body[i], next: i + 1) : .invalid }
            guard case .char(let c, let j) = outer(level, at: i) else { return .invalid }
            switch c {
            case UInt8(ascii: "\""): return .end
            case UInt8(ascii: "\\"): break
            case 0x00..<0x20: return .invalid
            default: return .char(c, next: j)
            }
            guard case .char(let e, var k) = outer(level, at: j) else { return .invalid }
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): return .char(e, next: k)
            case UInt8(ascii: "/"):
                styles[level].escapesSolidus = true
                return .char(e, next: k)
            case UInt8(ascii: "b"): return .char(0x08, next: k)
            case UInt8(ascii: "f"): return .char(0x0C, next: k)
            case UInt8(ascii: "n"): return .char(0x0A, next: k)
            case UInt8(ascii: "r"): return .char(0x0D, next: k)
            case UInt8(ascii: "t"): return .char(0x09, next: k)
            case UInt8(ascii: "u"):
                var value: UInt32 = 0
                for _ in 0..<4 {
                    guard case .char(let h, let next) = outer(level, at: k), let digit = Self.hexValue(h) else {
                        return .invalid
                    }
                    value = value << 4 | digit
                    k = next
                }
                guard value < 0x80 else { return .invalid }
                let byte = UInt8(value)
                if byte >= 0x20, byte != 0x7F { styles[level].unicodeEscaped.insert(byte) }
                return .char(byte, next: k)
            default:
                return .invalid
            }
        }

        /// A character of the text one level up, where an unescaped quote cannot appear inside
        /// the string being read.
        private mutating func outer(_ level: Int, at i: Int) -> Step {
            let step = read(level: level - 1, at: i)
            return step == .end ? .invalid : step
        }

        private static func hexValue(_ b: UInt8) -> UInt32? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
