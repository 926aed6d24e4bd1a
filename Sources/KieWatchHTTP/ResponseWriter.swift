/// Serializes responses into the bytes written on the wire.
///
/// The server owns the framing: `Content-Length` is always computed here, and the handler's
/// `Content-Length`, `Transfer-Encoding` and `Connection` fields are replaced. Fields whose name
/// or value would break the framing (CR, LF, NUL, a colon in the name) are dropped, so a header
/// copied from an upstream can never split a response.
enum ResponseWriter {
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// The response head and body in one buffer (one `send` for small responses).
    /// - Parameters:
    ///   - includeBody: false for `HEAD`: the head describes the body that a GET would get.
    ///   - keepAlive: whether the connection stays open after this response.
    ///   - requestVersion: an HTTP/1.0 client needs `Connection: keep-alive` to keep the connection.
    static func serialize(
        _ response: HTTPResponse, includeBody: Bool, keepAlive: Bool, requestVersion: String = "HTTP/1.1"
    ) -> [UInt8] {
        let status = (100...999).contains(response.status) ? response.status : 500
        let bodyAllowed = !(status < 200 || status == 204 || status == 304)
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
        if bodyAllowed {
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
        if includeBody && bodyAllowed { out.append(contentsOf: response.body) }
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
