/// Removes secrets from URLs before they are stored, logged or shown: query parameters whose
/// names look like credentials and `user:password@` parts. Only the relay's delivery column
/// keeps the app's URL whole, because delivering needs it.
public enum URLRedaction {
    static let secretNames: Set<String> = [
        "secret", "key", "apikey", "api_key", "token", "access_token", "auth", "password", "pass",
        "sig", "signature", "code", "credential", "credentials",
    ]

    public static let placeholder = "REDACTED"

    public static func redact(_ url: String) -> String {
        var head = Substring(url)
        var fragment: Substring = ""
        if let hash = head.firstIndex(of: "#") {
            fragment = head[hash...]
            head = head[..<hash]
        }
        var query: Substring?
        if let q = head.firstIndex(of: "?") {
            query = head[head.index(after: q)...]
            head = head[..<q]
        }
        var base = String(head)
        // Drop userinfo: scheme://user:pass@host/...
        if let scheme = base.firstIndex(of: ":"), base[scheme...].hasPrefix("://") {
            let authorityStart = base.index(scheme, offsetBy: 3)
            let authorityEnd = base[authorityStart...].firstIndex(of: "/") ?? base.endIndex
            if let at = base[authorityStart..<authorityEnd].lastIndex(of: "@") {
                base.replaceSubrange(authorityStart...at, with: "\(placeholder)@")
            }
        }
        guard let query else { return base + fragment }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].lowercased()
            if parts.count == 2, isSecretName(name) { return "\(parts[0])=\(placeholder)" }
            return String(pair)
        }
        return base + "?" + pairs.joined(separator: "&") + fragment
    }

    static func isSecretName(_ name: String) -> Bool {
        if secretNames.contains(name) { return true }
        return name.hasSuffix("_key") || name.hasSuffix("secret") || name.hasSuffix("token")
    }
}
