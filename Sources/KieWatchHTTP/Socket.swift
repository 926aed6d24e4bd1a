#if canImport(Glibc)
import Glibc
#endif

/// An owned socket file descriptor: closed exactly once, by `close()` or else by `deinit`.
///
/// Deliberately not `Sendable`: a socket has one owner at a time (an event loop, or a test
/// thread). Reads and writes are non-blocking when the descriptor is (everything the server
/// creates is), and report `.wouldBlock` instead of waiting.
package final class Socket {
    /// The descriptor, or -1 once closed.
    package private(set) var descriptor: Int32

    /// Takes ownership of `descriptor`.
    package init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// A new non-blocking, close-on-exec stream socket of `family`.
    package static func stream(family: Int32) throws(HTTPServerError) -> Socket {
        let fd = try syscallOrThrow("socket") {
            Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        return Socket(descriptor: fd)
    }

    package var isOpen: Bool { descriptor >= 0 }

    /// Closes now; later calls do nothing. Closing also removes the descriptor from any epoll set.
    package func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    /// Reads up to `buffer.count` bytes; `.processed(0)` means the peer closed its side.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPServerError) -> IOResult<Int> {
        let fd = descriptor
        return try syscall("read", "fd \(fd)") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes what the kernel takes now; `MSG_NOSIGNAL` so a dead peer is an `EPIPE` error
    /// instead of a process-killing SIGPIPE.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(HTTPServerError) -> IOResult<Int> {
        let fd = descriptor
        return try syscall("send", "fd \(fd)") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends our FIN but keeps reading: the first half of a lingering close.
    package func shutdownWrite() {
        guard descriptor >= 0 else { return }
        _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
    }

    package func setOption(level: Int32, name: Int32, value: Int32) throws(HTTPServerError) {
        var value = value
        let fd = descriptor
        try syscallOrThrow("setsockopt", "fd \(fd) option \(name)") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Disables Nagle: responses are written whole, and waiting 40 ms for an ACK would dominate
    /// the latency of small keep-alive requests.
    /// Makes the next `close()` send a TCP reset instead of a graceful FIN (`SO_LINGER` 0).
    package func setResetOnClose() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    package func setNoDelay() {
        try? setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
    }

    /// The locally bound address (to learn the port chosen for port 0).
    package func localAddress() throws(HTTPServerError) -> SocketAddress {
        let fd = descriptor
        return try SocketAddress.filled { (sa, length) throws(HTTPServerError) in
            try syscallOrThrow("getsockname", "fd \(fd)") { getsockname(fd, sa, length) }
        }.1
    }

    /// Starts a non-blocking connect to `address`: `.processed` when connected at once (loopback,
    /// Unix sockets), `.wouldBlock` while in progress (wait for writability, then `pendingError()`).
    ///
    /// Not `syscall`: an interrupted connect is not retried (a second call fails with `EALREADY`)
    /// but goes on in the background, exactly like `EINPROGRESS`.
    package func connect(to address: SocketAddress) throws(HTTPServerError) -> IOResult<Void> {
        let fd = descriptor
        if address.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 { return .processed(()) }
        let code = errno
        switch code {
        case EINPROGRESS, EINTR, EAGAIN: return .wouldBlock
        default: throw HTTPServerError(code: .syscall, errno: code, message: "connect", context: address.description)
        }
    }

    /// `SO_ERROR`: the outcome of a non-blocking connect once the socket is writable (0 = connected).
    package func pendingError() -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }
}
