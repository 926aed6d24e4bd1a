/// Removes secrets from URLs and paths before they are stored or shown.
///
/// Any query parameter whose name contains `secret`, `key`, `token`, `signature`, `password`
/// or `auth` (case-insensitive) keeps its name and loses its value: `?secret=abc&taskId=1`
/// becomes `?secret=REDACTED&taskId=1`. The store applies it to every stored path; only
/// `tasks.callback_url` and `relay_outbox.url` keep the app's URL whole (the relay needs it).
package enum SecretRedaction {
    package static let placeholder = "REDACTED"
    private static let sensitiveNames = ["secret", "key", "token", "signature", "password", "auth"]

    package static func redact(_ pathOrURL: String) -> String {
        // Fast path: most recorded paths have no query string.
        guard let question = pathOrURL.utf8.firstIndex(of: UInt8(ascii: "?")) else { return pathOrURL }
        let head = pathOrURL[..<question]
        var query = pathOrURL[pathOrURL.index(after: question)...]
        var fragment: Substring = ""
        if let hash = query.firstIndex(of: "#") {
            fragment = query[hash...]
            query = query[..<hash]
        }
        var changed = false
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> Substring in
            guard let equals = part.firstIndex(of: "=") else { return part }
            let name = part[..<equals].lowercased()
            guard sensitiveNames.contains(where: { name.contains($0) }) else { return part }
            changed = true
            return part[...equals] + placeholder
        }
        guard changed else { return pathOrURL }
        return String(head) + "?" + parts.joined(separator: "&") + fragment
    }
}
