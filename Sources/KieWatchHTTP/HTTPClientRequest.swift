import KieWatchCore

/// A request to send with an `HTTPTransport`: method, absolute URL, headers, whole body.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: HTTPClientURL
    /// End-to-end headers. Framing headers (`Content-Length`, `Transfer-Encoding`, `Connection`,
    /// `Keep-Alive`) are the transport's business and are replaced; `Host` is added when absent.
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Allows one re-send on a fresh connection when a reused keep-alive connection turns out to
    /// have been closed by the peer after the request was written but before any response byte
    /// arrived. Idempotent methods are always allowed; set this for a POST only when sending it
    /// twice is harmless. See `HTTPClient` for the full retry rule.
    public var retryOnStaleConnection: Bool

    public init(
        method: String = "GET", url: HTTPClientURL, headers: HTTPHeaders = [:], body: [UInt8] = [],
        retryOnStaleConnection: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.retryOnStaleConnection = retryOnStaleConnection
    }

    /// Convenience for a URL string; throws `invalidURL` / `unsupportedScheme`.
    public init(
        method: String = "GET", url: String, headers: HTTPHeaders = [:], body: [UInt8] = [],
        retryOnStaleConnection: Bool = false
    ) throws(HTTPClientError) {
        self.init(
            method: method, url: try HTTPClientURL(url), headers: headers, body: body,
            retryOnStaleConnection: retryOnStaleConnection)
    }

    /// RFC 9110 §9.2.2: a second identical request has the same effect as the first.
    public var isIdempotent: Bool {
        switch method {
        case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE": true
        default: false
        }
    }

    /// `Basic base64(user:password)` for a URL with user info, unless the request carries an
    /// `Authorization` header of its own (which wins). Both transports send it, so a callback
    /// URL such as `http://user:pass@app/cb` is delivered the way a browser or curl would.
    public var basicAuthorization: String? {
        guard let credentials = url.credentials, headers["Authorization"] == nil else { return nil }
        return "Basic " + Base64.encode(Array("\(credentials.user):\(credentials.password)".utf8))
    }

    /// Whether a request that may have reached the server can be sent again.
    var mayResendAfterWrite: Bool { isIdempotent || retryOnStaleConnection }

    /// The HTTP/1.1 wire form: request line, headers, `Content-Length`, body.
    ///
    /// Validates what it writes (method and names are tokens, values have no CR/LF/NUL) so that a
    /// header forwarded by the proxy can never smuggle a second request onto the connection.
    func serialized() throws(HTTPClientError) -> [UInt8] {
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw .invalidRequest("bad method '\(method)'")
        }
        var out: [UInt8] = []
        out.reserveCapacity(128 + url.pathAndQuery.utf8.count + body.count + headers.count * 48)
        out.append(contentsOf: method.utf8)
        out.append(0x20)
        out.append(contentsOf: url.pathAndQuery.utf8)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        var hasHost = false
        for field in headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(Self.isTokenByte) else {
                throw .invalidRequest("bad header name '\(field.name)'")
            }
            guard !field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .invalidRequest("header '\(field.name)' has a CR, LF or NUL in its value")
            }
            if Self.isFramingHeader(field.name) { continue }
            if field.name.equalsIgnoringASCIICase("Host") { hasHost = true }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if let authorization = basicAuthorization {
            out.append(contentsOf: "Authorization: ".utf8)
            out.append(contentsOf: authorization.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !hasHost {
            out.append(contentsOf: "Host: ".utf8)
            out.append(contentsOf: url.hostHeader.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !body.isEmpty || !(method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS") {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: body)
        return out
    }
}

extension HTTPClientRequest {
    /// Headers that describe one hop's framing; a transport sets its own.
    static func isFramingHeader(_ name: String) -> Bool {
        name.equalsIgnoringASCIICase("Content-Length") || name.equalsIgnoringASCIICase("Transfer-Encoding")
            || name.equalsIgnoringASCIICase("Connection") || name.equalsIgnoringASCIICase("Keep-Alive")
    }

    /// RFC 9110 `tchar`.
    @inline(__always)
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
