/// Serializes responses into the bytes written on the wire.
///
/// The server owns the framing: `Content-Length` is always computed here (a streamed body is
/// sent chunked instead), and the handler's `Content-Length`, `Transfer-Encoding` and
/// `Connection` fields are replaced. Fields whose name or value would break the framing (CR,
/// LF, NUL, a colon in the name) are dropped, so a header copied from an upstream can never
/// split a response.
enum ResponseWriter {
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// How a response with a `bodyStream` goes out: chunked to an HTTP/1.1 client; to an HTTP/1.0
    /// client (which knows no chunks) unframed, ended by closing the connection.
    enum Streaming: Equatable {
        case none, chunked, untilClose
    }

    static func streaming(_ response: HTTPResponse, includeBody: Bool, requestVersion: String) -> Streaming {
        guard response.bodyStream != nil, includeBody, allowsBody(response.status) else { return .none }
        return requestVersion == "HTTP/1.0" ? .untilClose : .chunked
    }

    /// Whether a response with this status has a body (not 1xx, 204, 304).
    static func allowsBody(_ status: Int) -> Bool {
        let status = (100...999).contains(status) ? status : 500
        return !(status < 200 || status == 204 || status == 304)
    }

    /// One chunk of a chunked body: size in hex, CRLF, the bytes, CRLF (empty input, nothing:
    /// an empty chunk would end the body).
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    /// The end of a chunked body (no trailers).
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// The response head and body in one buffer (one `send` for small responses).
    /// - Parameters:
    ///   - includeBody: false for `HEAD`: the head describes the body that a GET would get.
    ///   - keepAlive: whether the connection stays open after this response.
    ///   - requestVersion: an HTTP/1.0 client needs `Connection: keep-alive` to keep the connection.
    /// With a `bodyStream`, only the head and `body` (the first chunk) are returned; the
    /// connection sends the stream's chunks (see `streaming(_:includeBody:requestVersion:)`).
    static func serialize(
        _ response: HTTPResponse, includeBody: Bool, keepAlive: Bool, requestVersion: String = "HTTP/1.1"
    ) -> [UInt8] {
        let status = (100...999).contains(response.status) ? response.status : 500
        let bodyAllowed = allowsBody(status)
        let streaming = streaming(response, includeBody: includeBody, requestVersion: requestVersion)
        let keepAlive = keepAlive && streaming != .untilClose
        var out: [UInt8] = []
        out.reserveCapacity(128 + response.headers.count * 32 + (includeBody && bodyAllowed ? response.body.count : 0))
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.appendDecimal(status)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: HTTPResponse.reasonPhrase(status).utf8)
        out.append(contentsOf: "\r\n".utf8)
        for field in response.headers {
            if field.name.equalsIgnoringASCIICase("Content-Length")
                || field.name.equalsIgnoringASCIICase("Transfer-Encoding")
                || field.name.equalsIgnoringASCIICase("Connection")
            {
                continue
            }
            guard isSafeName(field.name), isSafeValue(field.value) else { continue }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if bodyAllowed && response.bodyStream != nil {
            // A HEAD answer describes the GET answer: chunked too (unless the GET would be unframed).
            if requestVersion != "HTTP/1.0" { out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8) }
        } else if bodyAllowed {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.appendDecimal(response.body.count)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if requestVersion == "HTTP/1.0" {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        switch streaming {
        case .none: if includeBody && bodyAllowed { out.append(contentsOf: response.body) }
        case .chunked: out.append(contentsOf: chunk(response.body))
        case .untilClose: out.append(contentsOf: response.body)
        }
        return out
    }

    /// The answer to a request refused before (or instead of) the handler.
    static func errorResponse(status: Int, message: String) -> [UInt8] {
        serialize(.text(message + "\n", status: status), includeBody: true, keepAlive: false)
    }

    private static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
    }

    private static func isSafeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 || $0 == UInt8(ascii: "\t") } && !value.utf8.contains(0x7F)
    }
}

extension Array where Element == UInt8 {
    /// Appends `n` (not negative) in decimal, without building a String (status lines and
    /// `Content-Length` values, once per message).
    package mutating func appendDecimal(_ n: Int) {
        var divisor = 1
        while divisor <= n / 10 { divisor *= 10 }
        var rest = n
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
