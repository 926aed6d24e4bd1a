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
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<q]
    }

    /// The raw query string (after `?`), if any.
    public var query: Substring? {
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return target[target.utf8.index(after: q)...]
    }

    /// The first value of query parameter `name`, percent-decoded (`+` as space).
    /// Walks the query in place: only the value found is decoded into a new string.
    public func queryItem(_ name: String) -> String? {
        guard let query else { return nil }
        let utf8 = query.utf8
        var start = utf8.startIndex
        while start < utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "&")) ?? utf8.endIndex
            let pair = query[start..<end]
            let equals = pair.utf8.firstIndex(of: UInt8(ascii: "="))
            if componentEquals(pair[..<(equals ?? pair.endIndex)], name) {
                guard let equals else { return "" }
                return percentDecode(pair[pair.utf8.index(after: equals)...])
            }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
        return nil
    }

    private func componentEquals(_ encoded: Substring, _ name: String) -> Bool {
        let plain = !encoded.utf8.contains { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }
        return plain ? encoded.utf8.elementsEqual(name.utf8) : percentDecode(encoded) == name
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
    let utf8 = s.utf8
    guard utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(s) }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count)
    var i = utf8.startIndex
    while i < utf8.endIndex {
        let b = utf8[i]
        if b == UInt8(ascii: "+") {
            out.append(0x20)
        } else if b == UInt8(ascii: "%"), utf8.distance(from: i, to: utf8.endIndex) >= 3,
            let h = hexValue(utf8[utf8.index(i, offsetBy: 1)]), let l = hexValue(utf8[utf8.index(i, offsetBy: 2)])
        {
            out.append(h << 4 | l)
            i = utf8.index(i, offsetBy: 2)
        } else {
            out.append(b)
        }
        i = utf8.index(after: i)
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
