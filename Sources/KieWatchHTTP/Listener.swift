import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// A listening socket (TCP or Unix-domain) that accepts non-blocking, close-on-exec sockets.
///
/// Reusable on its own: the HTTP server and a line-protocol server (the admin console) both
/// register a `Listener` with an `EventLoop` and call `accept()` when it is readable.
package final class Listener {
    package let socket: Socket
    /// The bound address; for port 0 this carries the port the kernel chose.
    package let address: SocketAddress
    /// The Unix socket path to unlink when the listener closes; nil for TCP.
    package let unixPath: String?

    private init(socket: Socket, address: SocketAddress, unixPath: String?) {
        self.socket = socket
        self.address = address
        self.unixPath = unixPath
    }

    deinit { close() }

    /// Binds and listens on `host:port` with `SO_REUSEADDR` (a restart is not refused while old
    /// connections sit in TIME_WAIT). Port 0 picks an ephemeral port: read `address.port`.
    package static func tcp(host: String, port: Int, backlog: Int32 = 1024) throws(HTTPServerError) -> Listener {
        let address = try SocketAddress.resolve(host: host, port: port)
        let socket = try Socket.stream(family: address.family)
        try socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        let fd = socket.descriptor
        try address.withSockAddr { (sa, length) throws(HTTPServerError) in
            try syscallOrThrow("bind", "\(host):\(port)") { Glibc.bind(fd, sa, length) }
        }
        try syscallOrThrow("listen", "\(host):\(port)") { Glibc.listen(fd, backlog) }
        return Listener(socket: socket, address: try socket.localAddress(), unixPath: nil)
    }

    /// Binds and listens on a Unix socket at `path`, readable and writable only by `mode`
    /// (default 0600: the admin socket grants full control of the agent).
    ///
    /// A stale socket file left by a crashed process is removed; a live one (something accepts
    /// connections on it) or a path that is not a socket is an error, never deleted. The socket
    /// is bound under a temporary name, `chmod`ed, then renamed into place, so it is never
    /// reachable under `path` with the default (umask) permissions.
    package static func unix(path: String, mode: mode_t = 0o600, backlog: Int32 = 128) throws(HTTPServerError)
        -> Listener
    {
        let address = try SocketAddress.unix(path: path)
        try removeStaleSocket(at: path, address: address)
        let temporaryPath = "\(path).\(getpid()).tmp"
        let temporaryAddress = try SocketAddress.unix(path: temporaryPath)
        let socket = try Socket.stream(family: AF_UNIX)
        let fd = socket.descriptor
        unlink(temporaryPath)
        try temporaryAddress.withSockAddr { (sa, length) throws(HTTPServerError) in
            try syscallOrThrow("bind", temporaryPath) { Glibc.bind(fd, sa, length) }
        }
        var renamed = false
        defer { if !renamed { unlink(temporaryPath) } }
        try syscallOrThrow("chmod", temporaryPath) { chmod(temporaryPath, mode) }
        try syscallOrThrow("listen", path) { Glibc.listen(fd, backlog) }
        try syscallOrThrow("rename", path) { rename(temporaryPath, path) }
        renamed = true
        return Listener(socket: socket, address: address, unixPath: path)
    }

    private static func removeStaleSocket(at path: String, address: SocketAddress) throws(HTTPServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw HTTPServerError(code: .invalidAddress, message: "path exists and is not a socket", context: path)
        }
        // Probe: if someone accepts, the socket is live and we must not steal it.
        let probe = try Socket.stream(family: AF_UNIX)
        let fd = probe.descriptor
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        let code = errno
        if rc == 0 || code == EAGAIN || code == EINPROGRESS {
            throw HTTPServerError(
                code: .invalidAddress, message: "another process is listening on this socket", context: path)
        }
        unlink(path)
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket (`accept4`), with
    /// `TCP_NODELAY` for TCP. `.wouldBlock` when the queue is empty.
    package func accept() throws(HTTPServerError) -> IOResult<(Socket, SocketAddress)> {
        let fd = socket.descriptor
        let (result, peer) = try SocketAddress.filled { (sa, length) throws(HTTPServerError) in
            try syscall("accept4", "fd \(fd)") {
                accept4(fd, sa, length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            }
        }
        guard case .processed(let accepted) = result else { return .wouldBlock }
        let client = Socket(descriptor: accepted)
        if peer.family == AF_INET || peer.family == AF_INET6 { client.setNoDelay() }
        return .processed((client, peer))
    }

    /// Stops listening and removes the Unix socket file (only if it is still ours).
    package func close() {
        guard socket.isOpen else { return }
        socket.close()
        if let unixPath { unlink(unixPath) }
    }
}
