import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP server on plain blocking sockets, one thread per connection, whose behaviour
/// each test scripts byte by byte: answer, stall, close, reset. Independent of kiewatch's own
/// server so that client tests cannot pass because both sides share a bug.
public final class RawTCPServer: Sendable {
    /// One accepted connection, used only by its handler's thread.
    ///
    /// `@unchecked Sendable` so the handler closure can receive it; it is only touched by the
    /// thread that runs the handler (`stop()` only calls `shutdown` on the fd, under the lock).
    public final class Connection: @unchecked Sendable {
        public let fd: Int32
        /// 1 for the first connection the server accepted, 2 for the next...
        public let index: Int
        /// Requests read on this connection so far.
        public private(set) var requestsOnThisConnection = 0
        private var pending: [UInt8] = []
        private let server: RawTCPServer
        private var closed = false

        init(fd: Int32, index: Int, server: RawTCPServer) {
            self.fd = fd
            self.index = index
            self.server = server
        }

        /// Reads one request (head and `Content-Length` body); nil when the peer closed.
        public func readRequest() -> (head: String, body: [UInt8])? {
            while true {
                if let end = httpHeadLength(pending) {
                    let head = String(decoding: pending[..<end], as: UTF8.self)
                    var length = 0
                    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                        length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                    while pending.count < end + length {
                        guard readMore() else { return nil }
                    }
                    let body = Array(pending[end..<(end + length)])
                    pending.removeFirst(end + length)
                    requestsOnThisConnection += 1
                    server.requests.add(1, ordering: .relaxed)
                    return (head, body)
                }
                guard readMore() else { return nil }
            }
        }

        private func readMore() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            pending.append(contentsOf: chunk[0..<n])
            return true
        }

        public func write(_ text: String) { write(Array(text.utf8)) }

        public func write(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes {
                    send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { return }
                offset += n
            }
        }

        /// Orderly close (FIN).
        public func close() {
            guard !closed else { return }
            closed = true
            server.forget(fd)
            Glibc.close(fd)
        }

        /// Abortive close: `SO_LINGER` 0 makes the kernel send RST.
        public func reset() {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close()
        }

        /// Blocks until the peer closes or the server stops (a server that never answers).
        public func stall() {
            while readMore() {}
        }
    }

    public let port: Int
    private let listenFD: Int32
    private let openFDs = Mutex<Set<Int32>>([])
    private let accepted = Atomic<Int>(0)
    fileprivate let requests = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    /// Connections accepted so far.
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    /// Requests read with `readRequest()` so far, on all connections.
    public var requestsRead: Int { requests.load(ordering: .relaxed) }

    /// Listens on 127.0.0.1 on a free port; `handler` runs on its own thread per connection, and
    /// the connection is closed when it returns.
    public init(handler: @escaping @Sendable (Connection) -> Void) throws {
        let (fd, port) = Self.bindLoopback(reuseAddress: true)
        guard let port, listen(fd, 512) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        listenFD = fd
        self.port = port
        Thread.detachNewThread { [self] in acceptLoop(handler) }
    }

    /// A blocking, close-on-exec TCP socket bound to 127.0.0.1 on a port the kernel picks, and
    /// that port (nil if the bind failed; the socket is returned either way, for the caller to close).
    private static func bindLoopback(reuseAddress: Bool) -> (fd: Int32, port: Int?) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if reuseAddress {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        return (fd, bound ? Int(UInt16(bigEndian: addr.sin_port)) : nil)
    }

    deinit { stop() }

    private func acceptLoop(_ handler: @escaping @Sendable (Connection) -> Void) {
        while !stopped.load(ordering: .relaxed) {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let index = accepted.add(1, ordering: .relaxed).newValue
            openFDs.withLock { _ = $0.insert(fd) }
            let connection = Connection(fd: fd, index: index, server: self)
            Thread.detachNewThread {
                handler(connection)
                connection.close()
            }
        }
    }

    fileprivate func forget(_ fd: Int32) {
        openFDs.withLock { _ = $0.remove(fd) }
    }

    /// Stops accepting and wakes every handler blocked in `recv`.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        Glibc.close(listenFD)
        openFDs.withLock { fds in for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    /// A loopback port that refuses connections for as long as this object lives: bound but not
    /// listening, so no other test's server can take the port meanwhile (unlike a port that
    /// was free a moment ago).
    public final class RefusingPort: Sendable {
        public let port: Int
        private let fd: Int32

        public init() {
            let (fd, port) = RawTCPServer.bindLoopback(reuseAddress: false)
            self.fd = fd
            self.port = port ?? 0
        }

        deinit { Glibc.close(fd) }
    }

    /// `HTTP/1.1 <status>` with `Content-Length` and optional extra header lines.
    public static func response(status: Int = 200, body: String = "", headers: [String] = []) -> String {
        var text = "HTTP/1.1 \(status) OK\r\nContent-Length: \(body.utf8.count)\r\n"
        for h in headers { text += h + "\r\n" }
        return text + "\r\n" + body
    }

    /// A keep-alive server answering every request with `respond(head, body)`.
    public static func keepAlive(_ respond: @escaping @Sendable (String, [UInt8]) -> String) throws -> RawTCPServer {
        try RawTCPServer { connection in
            while let (head, body) = connection.readRequest() { connection.write(respond(head, body)) }
        }
    }
}
