#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

@testable import KieWatchConsole

/// A tiny admin-socket server for client tests, built on `AdminProtocol` and `LineBuffer`
/// exactly as the agent's will be. It serves one connection per `script` call, on a
/// background thread, and records what the scripts report.
final class AdminTestServer: Sendable {
    /// One accepted connection, driven by a test script.
    struct Connection {
        let fd: Int32
        private var lines = LineBuffer(maxLineBytes: AdminProtocol.maxRequestBytes)

        init(fd: Int32) { self.fd = fd }

        /// The next request, nil when the client closed its side.
        mutating func nextRequest() -> AdminProtocol.Request? {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let line = try? lines.nextLine() { return AdminProtocol.parseRequest(line) }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                lines.append(chunk[0..<n])
            }
        }

        /// Sends bytes; false once the client is gone (EPIPE/ECONNRESET, never SIGPIPE).
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
    }

    let path: String
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let notes = Mutex<[String]>([])

    init(path: String) {
        self.path = path
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let address = UnixSocketAddress(path: path)!
        precondition(address.withSockaddr { bind(listener, $0, $1) } == 0, "bind failed: \(errno)")
        precondition(listen(listener, 8) == 0, "listen failed: \(errno)")
    }

    /// Accepts `count` connections one after the other and runs `script` on each.
    func serve(connections count: Int = 1, _ script: @escaping @Sendable (inout Connection, AdminTestServer) -> Void) {
        let listener = listener
        DispatchQueue.global().async {
            for _ in 0..<count {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { break }
                var connection = Connection(fd: fd)
                script(&connection, self)
                close(fd)
            }
            self.done.signal()
        }
    }

    /// Blocks until the scripts have finished (bounded, so a broken test fails, not hangs).
    func waitUntilDone() -> Bool {
        done.wait(timeout: .now() + 10) == .success
    }

    func note(_ text: String) { notes.withLock { $0.append(text) } }
    var recorded: [String] { notes.withLock { $0 } }

    func stop() {
        close(listener)
        unlink(path)
    }
}
