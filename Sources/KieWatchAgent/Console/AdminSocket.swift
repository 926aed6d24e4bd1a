#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system calls of the admin socket, NIO-style: `EINTR` retried in one place, failures
/// thrown with errno, sends with `MSG_NOSIGNAL` so a console that went away can never raise
/// SIGPIPE in the agent.
enum AdminSocket {
    /// A bound, listening Unix socket at `path` with mode 0600.
    ///
    /// Order matters for the mode: bind, chmod, then listen. Until `listen`, connects are
    /// refused, so nobody can reach the socket while it still has the umask's mode.
    static func listen(path: String, backlog: Int32) throws -> (fd: Int32, inode: UInt64) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AdminServerError.system("cannot create the admin socket", errno) }
        do {
            try withAddress(path) { address, length in
                guard bind(fd, address, length) == 0 else { throw AdminServerError.system("cannot bind the admin socket \(path)", errno) }
            }
            guard chmod(path, 0o600) == 0 else { throw AdminServerError.system("cannot set mode 0600 on \(path)", errno) }
            guard Glibc.listen(fd, backlog) == 0 else { throw AdminServerError.system("cannot listen on \(path)", errno) }
            var info = stat()
            guard stat(path, &info) == 0 else { throw AdminServerError.system("cannot stat \(path)", errno) }
            return (fd, UInt64(info.st_ino))
        } catch {
            close(fd)
            throw error
        }
    }

    /// What is at `path` before we bind there.
    enum Occupant {
        case nothing
        /// A socket nobody accepts on: left behind by an agent that died.
        case staleSocket
        /// A socket another live process accepts on.
        case liveSocket
        /// Something that is not a socket (a file, a directory): never ours to delete.
        case notASocket
    }

    static func occupant(of path: String) throws -> Occupant {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return .nothing }
            throw AdminServerError.system("cannot inspect \(path)", errno)
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .notASocket }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AdminServerError.system("cannot create a probe socket", errno) }
        defer { close(fd) }
        var result: Int32 = -1
        var error: Int32 = 0
        try withAddress(path) { address, length in
            repeat {
                result = connect(fd, address, length)
                error = errno
            } while result != 0 && error == EINTR
        }
        if result == 0 { return .liveSocket }
        return error == ECONNREFUSED || error == ENOENT ? .staleSocket : .liveSocket
    }

    /// The inode at `path`, nil if nothing is there.
    static func inode(of path: String) -> UInt64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// Marks a descriptor close-on-exec (glibc's `accept4`/`pipe2` are not visible to Swift).
    static func setCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Applies the send timeout: a console that stops reading makes `send` fail after it
    /// instead of holding its session thread forever.
    static func setSendTimeout(_ fd: Int32, millis: Int) {
        var timeout = timeval(tv_sec: millis / 1_000, tv_usec: Int((millis % 1_000) * 1_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends everything or reports why not (`EPIPE`, `ECONNRESET`, `EAGAIN` after the send timeout).
    static func sendAll(_ fd: Int32, _ bytes: [UInt8], flags: Int32 = 0) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | flags)
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += sent
        }
        return nil
    }

    /// Waits until `fd` is readable or `wake` is signalled; returns false on wake, timeout or error.
    static func waitReadable(_ fd: Int32, wake: Int32, timeoutMillis: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 2, timeoutMillis)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0, fds[1].revents == 0 else { return false }
            return fds[0].revents != 0
        }
    }

    private static func withAddress(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void
    ) throws {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw AdminServerError("admin socket path '\(path)' is empty or longer than \(capacity - 1) bytes")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        var failure: AdminServerError?
        withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                do {
                    try body(sockaddrPointer, socklen_t(MemoryLayout<sockaddr_un>.size))
                } catch {
                    failure = error as? AdminServerError ?? AdminServerError("\(error)")
                }
            }
        }
        if let failure { throw failure }
    }
}

/// Why the admin server could not start; `message` is the one line for the log and the
/// operator.
package struct AdminServerError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var errno: Int32?

    package init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }

    static func system(_ what: String, _ code: Int32) -> AdminServerError {
        AdminServerError("\(what): \(String(cString: strerror(code)))", errno: code)
    }

    package var description: String { message }
}
