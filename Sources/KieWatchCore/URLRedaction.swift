/// Removes secrets from URLs, paths and free text before they are stored, logged or shown.
///
/// Two things are secret wherever they appear in the text:
/// - **user info**: after every `://`, whatever comes before the last `@` of the authority
///   (up to the first `?`, `#` or character that cannot be in a URL) becomes `REDACTED`:
///   `http://user:pass@app/cb` → `http://REDACTED@app/cb`. A `/` does not end the search,
///   so a password with an unescaped `/` (an invalid URL, quoted by the error about it) is
///   still caught; a path with an `@` in it loses the part before it, a price worth paying;
/// - **secret-named values**: in every `name=value`, a name that contains `secret`, `key`,
///   `token`, `signature`, `password` or `auth` (ASCII case-insensitive) keeps its name and
///   loses its value: `?secret=abc&taskId=1` → `?secret=REDACTED&taskId=1`. The value ends at
///   `&`, `#`, white space, a quote, `<`, `>` or `\` (so a URL quoted in an error message or
///   inside escaped JSON loses only its value).
///
/// So one function serves a stored path, a URL shown by the console and an error message
/// that quotes a URL (`invalid URL: http://u:p@app/cb?secret=s`). The store applies it to
/// every stored path and error text, the logger to every value it prints, the errors of the
/// HTTP client to their descriptions; only `tasks.callback_url` and `relay_outbox.url` keep
/// the app's URL whole (the relay needs it). Works on UTF-8 bytes and allocates nothing when
/// there is nothing to redact, because it runs on every recorded API call.
public enum URLRedaction {
    public static let placeholder = "REDACTED"
    private static let sensitiveNames: [[UInt8]] = ["secret", "key", "token", "signature", "password", "auth"]
        .map { Array($0.utf8) }

    public static func redact(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes -> String? in
            // Byte ranges to replace, found in one pass, in order and not overlapping.
            var redactions: [Range<Int>] = []
            // Where the last authority scan stopped: a `://` before it lies inside that authority,
            // whose user info is already handled, so no byte is scanned twice.
            var authorityScannedTo = 0
            var i = 0
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: ":"), i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "/"),
                   bytes[i + 2] == UInt8(ascii: "/")
                {
                    if i < authorityScannedTo {
                        i += 3
                        continue
                    }
                    let start = i + 3
                    var end = start
                    var lastAt: Int?
                    while end < bytes.count, !endsAuthority(bytes[end]) {
                        if bytes[end] == UInt8(ascii: "@") { lastAt = end }
                        end += 1
                    }
                    authorityScannedTo = end
                    if let lastAt, lastAt > start { redactions.append(start..<lastAt) }
                    i = lastAt.map { $0 + 1 } ?? start
                    continue
                }
                if byte == UInt8(ascii: "=") {
                    var nameStart = i
                    while nameStart > 0, !endsName(bytes[nameStart - 1]) { nameStart -= 1 }
                    if nameStart < i, isSensitive(UnsafeBufferPointer(rebasing: bytes[nameStart..<i])) {
                        var end = i + 1
                        while end < bytes.count, !endsValue(bytes[end]) { end += 1 }
                        if end > i + 1, !bytes[(i + 1)..<end].elementsEqual(placeholder.utf8) {
                            redactions.append((i + 1)..<end)
                        }
                        i = end
                        continue
                    }
                    // Any other value is scanned on: it may be a URL with user info of its own.
                }
                i += 1
            }
            guard !redactions.isEmpty else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + redactions.count * placeholder.utf8.count)
            var cursor = 0
            for range in redactions {
                out.append(contentsOf: bytes[cursor..<range.lowerBound])
                out.append(contentsOf: placeholder.utf8)
                cursor = range.upperBound
            }
            out.append(contentsOf: bytes[cursor...])
            return String(decoding: out, as: UTF8.self)
        } ?? text
    }

    /// Bytes that cannot be part of a URL as it is quoted in text: space and controls, quotes,
    /// angle brackets, backslash (escaped JSON), backtick.
    @inline(__always)
    private static func isTextDelimiter(_ b: UInt8) -> Bool {
        b <= 0x20 || b == 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == UInt8(ascii: "<")
            || b == UInt8(ascii: ">") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "`")
    }

    @inline(__always)
    private static func endsAuthority(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || isTextDelimiter(b)
    }

    @inline(__always)
    private static func endsValue(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "&") || b == UInt8(ascii: "#") || isTextDelimiter(b)
    }

    /// What separates one name from what precedes it: query and path punctuation, text
    /// delimiters, and the characters that open a list or a group in prose.
    @inline(__always)
    private static func endsName(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "?"), UInt8(ascii: "&"), UInt8(ascii: ";"), UInt8(ascii: "/"), UInt8(ascii: "#"),
            UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "{"), UInt8(ascii: "@"):
            true
        default: isTextDelimiter(b)
        }
    }

    /// Whether a query or field name (UTF-8 bytes) looks like it names a secret (see the
    /// type's summary).
    public static func isSensitiveName(_ name: ArraySlice<UInt8>) -> Bool {
        name.withUnsafeBufferPointer { isSensitive($0) }
    }

    private static func isSensitive(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        sensitiveNames.contains { needle in
            guard name.count >= needle.count else { return false }
            for offset in 0...(name.count - needle.count) {
                var matched = true
                for (i, byte) in needle.enumerated() where lowercased(name[offset + i]) != byte {
                    matched = false
                    break
                }
                if matched { return true }
            }
            return false
        }
    }

    @inline(__always)
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte + 32 : byte
    }
}
