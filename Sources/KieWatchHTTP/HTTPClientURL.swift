/// An absolute `http://` or `https://` URL split into the parts a client needs.
///
/// Parsed by hand (not `Foundation.URL`) because the socket client must not pull Foundation into
/// its hot path, and because a proxy builds one of these per request: the parse is a single pass.
public struct HTTPClientURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case http, https
        public var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    /// Host without brackets: `localhost`, `127.0.0.1`, `::1`.
    public var host: String
    public var port: Int
    /// Origin-form request target: `/path?query`, never empty.
    public var pathAndQuery: String

    public init(scheme: Scheme, host: String, port: Int? = nil, pathAndQuery: String = "/") {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.pathAndQuery = pathAndQuery.isEmpty ? "/" : pathAndQuery
    }

    /// Parses `scheme://host[:port][/path][?query][#fragment]`; the fragment is dropped.
    public init(_ string: String) throws(HTTPClientError) {
        let bytes = Array(string.utf8)
        for b in bytes where b <= 0x20 || b == 0x7F { throw .invalidURL(string) }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
            bytes[colon...].starts(with: Array("://".utf8))
        else { throw .invalidURL(string) }
        let schemeText = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            if schemeText.isEmpty { throw .invalidURL(string) }
            throw .unsupportedScheme(schemeText)
        }
        let authorityStart = colon + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, bytes[authorityEnd] != UInt8(ascii: "/"),
            bytes[authorityEnd] != UInt8(ascii: "?"), bytes[authorityEnd] != UInt8(ascii: "#")
        {
            authorityEnd += 1
        }
        let authority = bytes[authorityStart..<authorityEnd]
        if authority.contains(UInt8(ascii: "@")) { throw .invalidURL(string) }  // no user info

        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw .invalidURL(string) }
            host = authority[(authority.startIndex + 1)..<close]
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { throw .invalidURL(string) }
                portText = rest.dropFirst()
            }
        } else if let c = authority.firstIndex(of: UInt8(ascii: ":")) {
            host = authority[..<c]
            portText = authority[(c + 1)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .invalidURL(string) }
        var port = scheme.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5,
                portText.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let p = Int(String(decoding: portText, as: UTF8.self)), (1...65535).contains(p)
            else { throw .invalidURL(string) }
            port = p
        }
        var targetEnd = authorityEnd
        while targetEnd < bytes.count, bytes[targetEnd] != UInt8(ascii: "#") { targetEnd += 1 }
        var target = String(decoding: bytes[authorityEnd..<targetEnd], as: UTF8.self)
        if target.isEmpty { target = "/" } else if target.first == "?" { target = "/" + target }
        self.init(
            scheme: scheme, host: String(decoding: host, as: UTF8.self), port: port, pathAndQuery: target)
    }

    /// The value of the `Host` header: brackets around IPv6, port only when not the default.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? h : "\(h):\(port)"
    }

    public var description: String { "\(scheme.rawValue)://\(hostHeader)\(pathAndQuery)" }
}
