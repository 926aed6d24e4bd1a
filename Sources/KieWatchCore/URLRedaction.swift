/// Removes secrets from URLs and paths before they are stored, logged or shown.
///
/// Any query parameter whose name contains `secret`, `key`, `token`, `signature`, `password`
/// or `auth` (ASCII case-insensitive) keeps its name and loses its value:
/// `?secret=abc&taskId=1` becomes `?secret=REDACTED&taskId=1`, and `user:password@` becomes
/// `REDACTED@`. The store applies it to every
/// stored path; only `tasks.callback_url` and `relay_outbox.url` keep the app's URL whole (the
/// relay needs it). Works on UTF-8 bytes and allocates nothing when there is nothing to
/// redact, because it runs on every recorded API call.
public enum URLRedaction {
    public static let placeholder = "REDACTED"
    private static let sensitiveNames: [[UInt8]] = ["secret", "key", "token", "signature", "password", "auth"]
        .map { Array($0.utf8) }

    public static func redact(_ pathOrURL: String) -> String {
        var text = withoutUserinfo(pathOrURL)
        return text.withUTF8 { bytes -> String? in
            guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return nil }
            let queryEnd = bytes[question...].firstIndex(of: UInt8(ascii: "#")) ?? bytes.count
            // Value ranges to replace, found in one pass over the query.
            var redactions: [Range<Int>] = []
            var start = question + 1
            while start <= queryEnd {
                let end = bytes[start..<queryEnd].firstIndex(of: UInt8(ascii: "&")) ?? queryEnd
                if let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")),
                   isSensitive(UnsafeBufferPointer(rebasing: bytes[start..<equals])) {
                    redactions.append((equals + 1)..<end)
                }
                start = end + 1
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

    /// `scheme://user:password@host/...` → `scheme://REDACTED@host/...`.
    static func withoutUserinfo(_ url: String) -> String {
        guard let scheme = url.utf8.firstIndex(of: UInt8(ascii: ":")),
            url.utf8[scheme...].starts(with: "://".utf8)
        else { return url }
        let authorityStart = url.utf8.index(scheme, offsetBy: 3)
        let rest = url.utf8[authorityStart...]
        let authorityEnd = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? url.utf8.endIndex
        guard let at = url.utf8[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) else { return url }
        return String(url[..<authorityStart]) + placeholder + String(url[at...])
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
