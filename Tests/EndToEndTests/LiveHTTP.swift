import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 client for 127.0.0.1: one connection per request
/// (`Connection: close`), Content-Length, chunked and read-to-close bodies. Enough for the
/// agent, the simulator and Prometheus' API, with no proxy settings or libcurl in the way.
enum LiveHTTP {
    struct Response {
        var status: Int
        /// Header names lowercased.
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> [String: Any] {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw LiveError("HTTP \(status): body is not a JSON object: \(text.prefix(500))")
            }
            return object
        }
    }

    static func request(
        _ method: String, port: Int, path: String, headers: [String: String] = [:], body: Data = Data(),
        timeout: TimeInterval = 15
    ) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LiveError("socket(): errno \(errno)") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw LiveError("connect 127.0.0.1:\(port): errno \(errno)") }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        var bytes = Array((head + "\r\n").utf8)
        bytes.append(contentsOf: body)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw LiveError("\(method) \(path): send failed, errno \(errno)") }
            sent += n
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let response = try parse(received, complete: false) { return response }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw LiveError("\(method) 127.0.0.1:\(port)\(path): no complete answer (errno \(errno))") }
            if n == 0 {
                guard let response = try parse(received, complete: true) else {
                    throw LiveError("\(method) 127.0.0.1:\(port)\(path): connection closed mid-answer")
                }
                return response
            }
            received.append(contentsOf: buffer[..<n])
        }
    }

    /// A complete response from `bytes`, or nil when more must be read. `complete`: the peer
    /// closed, so a body without length ends here.
    private static func parse(_ bytes: [UInt8], complete: Bool) throws -> Response? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines[0].split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw LiveError("malformed status line: \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let start = headEnd + 4
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body = Data()
            var index = start
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: index) else { return nil }
                let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw LiveError("malformed chunk size: \(sizeText)")
                }
                if size == 0 { return Response(status: status, headers: headers, body: body) }
                guard bytes.count >= lineEnd + 2 + size + 2 else { return nil }
                body.append(contentsOf: bytes[(lineEnd + 2)..<(lineEnd + 2 + size)])
                index = lineEnd + 2 + size + 2
            }
        }
        if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard bytes.count >= start + length else { return nil }
            return Response(status: status, headers: headers, body: Data(bytes[start..<(start + length)]))
        }
        return complete ? Response(status: status, headers: headers, body: Data(bytes[start...])) : nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= from + needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }

    /// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
    static func queryValue(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
