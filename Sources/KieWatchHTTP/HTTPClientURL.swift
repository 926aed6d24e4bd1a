import KieWatchCore

/// An absolute `http://` or `https://` URL split into the parts a client needs.
///
/// Parsed by hand (not `Foundation.URL`) because the socket client must not pull Foundation into
/// its hot path, and because a proxy builds one of these per request: the parse is a single pass.
///
/// User info (`http://user:pass@app/cb`, as apps put in their callBackUrl) becomes
/// `credentials`, which every transport sends as `Authorization: Basic` (see
/// `HTTPClientRequest.basicAuthorization`); it is never part of `description`.
public struct HTTPClientURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case http, https
        public var defaultPort: Int { self == .http ? 80 : 443 }
    }

    /// User name and password from the URL's user info, percent-decoded (RFC 3986 §3.2.1).
    public struct Credentials: Sendable, Hashable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    public var scheme: Scheme
    /// Host without brackets: `localhost`, `127.0.0.1`, `::1`.
    public var host: String
    public var port: Int
    /// Origin-form request target: `/path?query`, never empty.
    public var pathAndQuery: String
    /// From the user info, when the URL had one.
    public var credentials: Credentials?

    public init(
        scheme: Scheme, host: String, port: Int? = nil, pathAndQuery: String = "/", credentials: Credentials? = nil
    ) {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.pathAndQuery = pathAndQuery.isEmpty ? "/" : pathAndQuery
        self.credentials = credentials
    }

    /// Parses `scheme://[user[:password]@]host[:port][/path][?query][#fragment]`; the fragment
    /// is dropped. Errors carry the URL redacted: it may hold a password.
    public init(_ string: String) throws(HTTPClientError) {
        // Built only when thrown: the proxy parses a URL per request.
        func invalid() -> HTTPClientError { .invalidURL(URLRedaction.redact(string)) }
        let bytes = Array(string.utf8)
        for b in bytes where b <= 0x20 || b == 0x7F { throw invalid() }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
            bytes[colon...].starts(with: Array("://".utf8))
        else { throw invalid() }
        let schemeText = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            if schemeText.isEmpty { throw invalid() }
            throw .unsupportedScheme(URLRedaction.redact(schemeText))
        }
        let authorityStart = colon + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, bytes[authorityEnd] != UInt8(ascii: "/"),
            bytes[authorityEnd] != UInt8(ascii: "?"), bytes[authorityEnd] != UInt8(ascii: "#")
        {
            authorityEnd += 1
        }
        var authority = bytes[authorityStart..<authorityEnd]
        var credentials: Credentials?
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            let userinfo = authority[..<at]
            let separator = userinfo.firstIndex(of: UInt8(ascii: ":"))
            let user = Self.percentDecoded(userinfo[..<(separator ?? userinfo.endIndex)])
            let password = separator.map { Self.percentDecoded(userinfo[($0 + 1)...]) } ?? []
            // RFC 7617: Basic cannot carry a user name with a colon in it.
            if user.contains(UInt8(ascii: ":")) { throw invalid() }
            credentials = Credentials(
                user: String(decoding: user, as: UTF8.self), password: String(decoding: password, as: UTF8.self))
            authority = authority[(at + 1)...]
        }

        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw invalid() }
            host = authority[(authority.startIndex + 1)..<close]
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { throw invalid() }
                portText = rest.dropFirst()
            }
        } else if let c = authority.firstIndex(of: UInt8(ascii: ":")) {
            host = authority[..<c]
            portText = authority[(c + 1)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw invalid() }
        var port = scheme.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5,
                portText.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let p = Int(String(decoding: portText, as: UTF8.self)), (1...65535).contains(p)
            else { throw invalid() }
            port = p
        }
        var targetEnd = authorityEnd
        while targetEnd < bytes.count, bytes[targetEnd] != UInt8(ascii: "#") { targetEnd += 1 }
        var target = String(decoding: bytes[authorityEnd..<targetEnd], as: UTF8.self)
        if target.isEmpty { target = "/" } else if target.first == "?" { target = "/" + target }
        self.init(
            scheme: scheme, host: String(decoding: host, as: UTF8.self), port: port, pathAndQuery: target,
            credentials: credentials)
    }

    /// `%XX` sequences decoded; a `%` not followed by two hex digits stays as it is (as
    /// browsers do), so no user info is refused for its spelling.
    static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.endIndex,
                let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The value of the `Host` header: brackets around IPv6, port only when not the default.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? h : "\(h):\(port)"
    }

    /// `scheme://host[:port]/path?query`: never the user info (see `credentials`).
    public var description: String { "\(scheme.rawValue)://\(hostHeader)\(pathAndQuery)" }
}
