/// A parsed HTTP/1.1 request with its whole body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, in origin form: `/path?query`.
    public var target: String
    public var version: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer, e.g. `127.0.0.1:53122`, when known.
    public var remoteAddress: String?

    public init(
        method: String, target: String, version: String = "HTTP/1.1", headers: HTTPHeaders = [:],
        body: [UInt8] = [], remoteAddress: String? = nil
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The path part of the target, without the query.
    public var path: Substring {
        target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? target[...]
    }

    /// The raw query string (after `?`), if any.
    public var query: Substring? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: q)...]
    }

    /// The first value of query parameter `name`, percent-decoded (`+` as space).
    public func queryItem(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecode(parts[0]) == name {
                return parts.count > 1 ? percentDecode(parts[1]) : ""
            }
        }
        return nil
    }

    /// Whether the connection stays open after this request (HTTP/1.1 default unless `close`).
    public var keepAlive: Bool {
        let connection = headers["Connection"]?.lowercased()
        if version == "HTTP/1.0" { return connection?.contains("keep-alive") ?? false }
        return !(connection?.contains("close") ?? false)
    }
}

/// Percent-decodes a URL component; `+` is a space (form encoding). Invalid escapes stay as they are.
public func percentDecode(_ s: Substring) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count)
    var it = Array(s.utf8)[...]
    while let b = it.popFirst() {
        if b == UInt8(ascii: "+") {
            out.append(0x20)
        } else if b == UInt8(ascii: "%"), it.count >= 2, let h = hexValue(it[it.startIndex]),
            let l = hexValue(it[it.startIndex + 1])
        {
            out.append(h << 4 | l)
            it.removeFirst(2)
        } else {
            out.append(b)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
public func percentEncode(_ s: String) -> String {
    var out = ""
    let hex = Array("0123456789ABCDEF")
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            out.append("%")
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
    }
    return out
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}
