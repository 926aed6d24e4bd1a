import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback connection for the fuzz run: sends exactly the bytes it is given and
/// reads answers with a receive timeout. Used only from threads of its own (never the
/// concurrency pool), so blocking is fine and costs no sleep per request.
final class FuzzConnection {
    /// One answer read off the connection.
    enum Read: Equatable {
        case response(status: Int, closes: Bool, body: [UInt8])
        /// The server closed (or reset) the connection before a complete answer.
        case closed
        /// Nothing complete within the receive timeout.
        case timeout
        /// Bytes that are not an HTTP/1.1 response.
        case garbage(String)
    }

    private let fd: Int32
    private var received: [UInt8] = []
    private var start = 0
    private var peerClosed = false
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    /// Connects to 127.0.0.1:`port`; nil when nothing listens there (the agent died).
    init?(port: Int, timeout: Duration) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let seconds = Int(timeout.components.seconds)
        var limit = timeval(tv_sec: max(1, seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends every byte; false when the peer is gone (or stopped reading for the whole timeout).
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Tells the server nothing more is coming (it then closes once it has answered).
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next final response (interim 1xx answers are skipped); `head`: the answer to a HEAD
    /// request, whose Content-Length describes a body that is not sent.
    func readResponse(head: Bool = false) -> Read {
        while true {
            switch nextResponse(head: head) {
            case .response(let status, _, _) where status < 200: continue
            case let other: return other
            }
        }
    }

    /// Reads until the server closes; the answers seen on the way (`head`: the first answers a HEAD).
    func readUntilClosed(head: Bool = false, limit: Int = 8) -> [Read] {
        var reads: [Read] = []
        while reads.count < limit {
            let read = readResponse(head: head && reads.isEmpty)
            reads.append(read)
            if case .response = read { continue }
            break
        }
        return reads
    }

    private func nextResponse(head isHead: Bool) -> Read {
        var headEnd: Int?
        while true {
            if headEnd == nil { headEnd = Self.headEnd(received, from: start) }
            if let end = headEnd {
                guard let head = Self.parseHead(received[start..<end]) else {
                    return .garbage(String(decoding: received[start..<min(end, start + 200)], as: UTF8.self))
                }
                let length = isHead || head.status < 200 || head.status == 204 || head.status == 304 ? 0 : head.contentLength
                guard let length else {
                    return .garbage("no Content-Length: " + String(decoding: received[start..<end], as: UTF8.self))
                }
                if received.count - end >= length {
                    let body = Array(received[end..<(end + length)])
                    start = end + length
                    if start == received.count {
                        received.removeAll(keepingCapacity: true)
                        start = 0
                    }
                    return .response(status: head.status, closes: head.closes, body: body)
                }
            }
            if peerClosed { return .closed }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                peerClosed = true
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return .timeout
            } else {
                peerClosed = true  // ECONNRESET: nothing more will come
            }
        }
    }

    /// The index just past `\r\n\r\n`, searching from `from`.
    private static func headEnd(_ bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count - from >= 4 else { return nil }
        var i = from
        while i + 3 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    private static func parseHead(_ bytes: ArraySlice<UInt8>) -> (status: Int, contentLength: Int?, closes: Bool)? {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.") else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var contentLength: Int?
        var closes = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { contentLength = Int(value) }
            if name == "connection" && value.lowercased() == "close" { closes = true }
        }
        return (status, contentLength, closes)
    }
}
