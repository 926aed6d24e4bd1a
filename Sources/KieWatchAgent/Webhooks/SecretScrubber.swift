import KieWatchCore
import KieWatchHTTP

/// Removes the agent's own secrets from bodies it stores, relays or passes back.
///
/// Kie echoes the create request inside later payloads (`param` in callbacks and status
/// answers), and that request carries the callback URL the agent gave Kie, with the callback
/// secret in it. Every stored or relayed body goes through here so the secret never reaches
/// a row, the app, or the console.
///
/// Every secret is scrubbed, whatever its length; where depends on the length:
/// - a secret of `anywhereLength` (4) bytes or more, and its percent-encoded form, is replaced
///   wherever it appears: so long a string does not turn up by chance often enough to matter;
/// - a shorter one (a 1-byte `KIE_CALLBACK_SECRET` is a configuration mistake, not an excuse to
///   leak it) is replaced only where the text says a secret sits, else every `a` of every body
///   would go: as the whole value of a secret-named query parameter (`secret=a`, `api_key=a`,
///   also `secret%3Da` inside an encoded URL; the names `URLRedaction` treats as secret), as the
///   token after `Bearer `, or as a whole JSON string (`"a"`, also `\"a\"` inside escaped
///   JSON). "Whole" means the next byte ends the value (`&`, `#`, a quote, `\`, `,`, `;`, a
///   bracket, white space or the end), so `secret=ab` is left alone for the secret `a`.
struct SecretScrubber: Sendable {
    /// Replaced wherever they appear, longest first (so an encoded form is replaced whole).
    private let anywhere: [[UInt8]]
    /// Replaced only as a secret-named value, a Bearer token or a whole JSON string.
    private let inContext: [[UInt8]]
    static let replacement = Array(URLRedaction.placeholder.utf8)
    /// Secrets this long or longer are replaced wherever they appear.
    static let anywhereLength = 4

    init(secrets: [String?]) {
        var anywhere = Set<[UInt8]>()
        var inContext = Set<[UInt8]>()
        for case let secret? in secrets where !secret.isEmpty {
            let forms = [Array(secret.utf8), Array(percentEncode(secret).utf8)]
            if secret.utf8.count >= Self.anywhereLength {
                anywhere.formUnion(forms)
            } else {
                inContext.formUnion(forms)
            }
        }
        self.anywhere = anywhere.sorted { $0.count > $1.count }
        self.inContext = inContext.sorted { $0.count > $1.count }
    }

    var isEmpty: Bool { anywhere.isEmpty && inContext.isEmpty }

    func scrub(_ body: [UInt8]) -> [UInt8] {
        guard !isEmpty, !body.isEmpty else { return body }
        var out = body
        for needle in anywhere { out = Self.replace(needle, in: out, where: { _, _ in true }) }
        for needle in inContext { out = Self.replace(needle, in: out, where: Self.isSecretPlace) }
        return out
    }

    private static func replace(
        _ needle: [UInt8], in haystack: [UInt8], where accepts: ([UInt8], Range<Int>) -> Bool
    ) -> [UInt8] {
        guard haystack.count >= needle.count, let first = needle.first else { return haystack }
        var out: [UInt8] = []
        var i = 0
        var copiedUpTo = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle),
                accepts(haystack, i..<(i + needle.count))
            {
                if out.isEmpty { out.reserveCapacity(haystack.count) }
                out.append(contentsOf: haystack[copiedUpTo..<i])
                out.append(contentsOf: replacement)
                i += needle.count
                copiedUpTo = i
            } else {
                i += 1
            }
        }
        guard copiedUpTo > 0 else { return haystack }
        out.append(contentsOf: haystack[copiedUpTo...])
        return out
    }

    // MARK: Where a short secret is replaced

    /// Whether `range` is a whole value that the text marks as a secret (see the type's summary).
    static func isSecretPlace(_ text: [UInt8], _ range: Range<Int>) -> Bool {
        let end = range.upperBound
        guard end == text.count || endsValue(text[end]) else { return false }
        let start = range.lowerBound
        // A whole JSON string: `"a"`, or `\"a\"` in JSON escaped inside a string.
        if start > 0, text[start - 1] == UInt8(ascii: "\""), end < text.count,
            text[end] == UInt8(ascii: "\"") || text[end...].starts(with: #"\""#.utf8)
        {
            return true
        }
        // The value of a secret-named parameter: `name=a` or, in an encoded URL, `name%3Da`.
        var nameEnd: Int?
        if start > 0, text[start - 1] == UInt8(ascii: "=") {
            nameEnd = start - 1
        } else if start >= 3, text[start - 3] == UInt8(ascii: "%"), text[start - 2] == UInt8(ascii: "3"),
            text[start - 1] | 0x20 == UInt8(ascii: "d")
        {
            nameEnd = start - 3
        }
        if let nameEnd {
            var nameStart = nameEnd
            while nameStart > 0, !endsName(text[nameStart - 1]) { nameStart -= 1 }
            return nameStart < nameEnd && URLRedaction.isSensitiveName(text[nameStart..<nameEnd])
        }
        // A Bearer token: `Bearer a` (any case, one or more spaces).
        var wordEnd = start
        while wordEnd > 0, text[wordEnd - 1] == UInt8(ascii: " ") || text[wordEnd - 1] == UInt8(ascii: "\t") {
            wordEnd -= 1
        }
        let bearer = Array("bearer".utf8)
        guard wordEnd < start, wordEnd >= bearer.count else { return false }
        let wordStart = wordEnd - bearer.count
        guard zip(text[wordStart..<wordEnd], bearer).allSatisfy({ $0 | 0x20 == $1 }) else { return false }
        return wordStart == 0 || !isLetter(text[wordStart - 1])
    }

    /// Bytes that end a value: query and JSON punctuation, quotes, white space and controls.
    private static func endsValue(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "&"), UInt8(ascii: "#"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ")"),
            UInt8(ascii: "<"), UInt8(ascii: ">"):
            true
        default: b <= 0x20 || b == 0x7F
        }
    }

    /// Bytes that end a parameter name, going backwards from its `=`.
    private static func endsName(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "?"), UInt8(ascii: "&"), UInt8(ascii: ";"), UInt8(ascii: "/"), UInt8(ascii: "="),
            UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: "{"),
            UInt8(ascii: "("):
            true
        default: b <= 0x20 || b == 0x7F
        }
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b | 0x20)
    }
}
