#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking socket operation either made progress or would have blocked.
enum HTTPClientIOResult {
    case processed(Int)
    case wouldBlock
}

/// A failed syscall: which one and its errno.
struct HTTPClientSyscallError: Error {
    let function: StaticString
    let errno: Int32

    var message: String { String(cString: strerror(errno)) }
    /// The peer is gone: what the retry rule and `connectionReset` are about.
    var isPeerGone: Bool { errno == ECONNRESET || errno == EPIPE || errno == ECONNABORTED || errno == ENOTCONN }
}

/// The client's syscalls, the NIO way: `EINTR` retried, `EAGAIN` mapped to `.wouldBlock`,
/// anything else thrown with its errno. Internal and prefixed so it can live next to the
/// server's own helper until the two are merged.
enum HTTPClientSyscall {
    @inline(__always)
    static func retrying(_ function: StaticString, _ body: () -> Int) throws(HTTPClientSyscallError)
        -> HTTPClientIOResult
    {
        while true {
            let r = body()
            if r >= 0 { return .processed(r) }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            throw HTTPClientSyscallError(function: function, errno: e)
        }
    }

    /// `MSG_NOSIGNAL`: a peer that went away must surface as `EPIPE`, never as SIGPIPE.
    @inline(__always)
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(HTTPClientSyscallError)
        -> HTTPClientIOResult
    {
        try retrying("send") { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    @inline(__always)
    static func recv(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, flags: Int32 = 0)
        throws(HTTPClientSyscallError) -> HTTPClientIOResult
    {
        try retrying("recv") { Glibc.recv(fd, buffer.baseAddress, buffer.count, flags) }
    }

    /// A non-blocking, close-on-exec TCP socket with Nagle off (requests are written whole,
    /// and Nagle plus delayed ACK would add 40 ms to every small POST).
    static func tcpSocket(family: Int32) throws(HTTPClientSyscallError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = Glibc.socket(family, type, 0)
        guard fd >= 0 else { throw HTTPClientSyscallError(function: "socket", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// Starts a connect; `true` when already connected, `false` when in progress.
    static func connect(_ fd: Int32, _ address: HTTPClientAddress) throws(HTTPClientSyscallError) -> Bool {
        let r = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if r == 0 { return true }
        let e = errno
        // EINTR on connect means the connect continues asynchronously: treat like EINPROGRESS.
        if e == EINPROGRESS || e == EINTR { return false }
        throw HTTPClientSyscallError(function: "connect", errno: e)
    }

    /// The outcome of a finished non-blocking connect (`SO_ERROR`), 0 when connected.
    static func pendingError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { return errno }
        return err
    }

    /// Never retried on `EINTR`: on Linux the descriptor is released even then.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
