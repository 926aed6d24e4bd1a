#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import KieWatchConsole
import KieWatchCore
import Synchronization

/// The agent's admin socket: a Unix domain socket speaking `AdminProtocol`, where
/// `kiewatch console`, `-c` and plain tools (`socat`) run console commands against the live
/// store and the live agent.
///
/// One thread per console client, bounded (`maxClients`, default 32; one more gets an error
/// line and is closed), because a session is mostly idle and its queries are short blocking
/// SQLite reads, which belong on their own thread rather than on the agent's task executor.
/// Each session opens its own read-only `StoreReader`, so sessions never share a connection
/// and never block the writer (WAL).
///
/// A slow or stuck client cannot hurt the agent: its answers are sent with `MSG_NOSIGNAL`
/// under a send timeout (then it is dropped), an idle session is closed after `idleTimeout`,
/// and `stop()` wakes every thread through one pipe, closes the listener and every client,
/// and removes the socket file (only if it is still ours).
///
/// Start refuses to take over a socket another live agent accepts on, removes one left by a
/// dead agent, and never deletes a path that is not a socket.
package final class AdminServer: Sendable {
    package struct Configuration: Sendable {
        /// Concurrent console sessions; each costs a thread and a read-only connection.
        package var maxClients = 32
        /// How long an answer may wait for a client that does not read.
        package var sendTimeoutMillis = 5_000
        /// A session with no request for this long is closed.
        package var idleTimeoutMillis: Int32 = 15 * 60_000
        package var listenBacklog: Int32 = 64
        package init() {}
    }

    package let path: String
    package let databasePath: String
    let clock: any WallClock
    let actions: any AgentActions
    let logger: Logger
    let configuration: Configuration
    private let state = Mutex(State())
    /// Counts running threads (accept loop and sessions) so `stop()` can wait for them.
    private let threads = DispatchGroup()

    private struct State: Sendable {
        enum Phase: Sendable { case initial, running, stopped }
        var phase = Phase.initial
        var listenFD: Int32 = -1
        var inode: UInt64?
        /// `stop()` writes one byte here; every poll in the server watches the read end.
        var wakeRead: Int32 = -1
        var wakeWrite: Int32 = -1
        /// Open session sockets. A session removes its fd under the lock *before* closing it,
        /// so `stop()` (which shuts them down under the lock) never touches a reused number.
        var clients: Set<Int32> = []
    }

    package init(
        path: String, databasePath: String, clock: any WallClock, actions: any AgentActions, logger: Logger,
        configuration: Configuration = Configuration()
    ) {
        self.path = path
        self.databasePath = databasePath
        self.clock = clock
        self.actions = actions
        self.logger = logger
        self.configuration = configuration
    }

    /// Binds the socket (mode 0600) and starts accepting. Throws a one-line reason when the
    /// path is taken by a live agent or is not a socket, or the socket cannot be created.
    package func start() throws {
        switch try AdminSocket.occupant(of: path) {
        case .nothing:
            break
        case .staleSocket:
            unlink(path)
            logger.info("admin.stale_socket_removed", ["path": path])
        case .liveSocket:
            throw AdminServerError("another kiewatch agent is already listening on \(path): stop it, or give this "
                                   + "one its own --admin-socket")
        case .notASocket:
            throw AdminServerError("\(path) exists and is not a socket; refusing to replace it (choose another "
                                   + "--admin-socket or remove the file)")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw AdminServerError.system("cannot create a pipe", errno) }
        fds.forEach(AdminSocket.setCloseOnExec)
        let pipeFDs = fds
        let listening: (fd: Int32, inode: UInt64)
        do {
            listening = try AdminSocket.listen(path: path, backlog: configuration.listenBacklog)
        } catch {
            close(pipeFDs[0])
            close(pipeFDs[1])
            throw error
        }
        let started = state.withLock { s -> Bool in
            guard s.phase == .initial else { return false }
            s.phase = .running
            s.listenFD = listening.fd
            s.inode = listening.inode
            s.wakeRead = pipeFDs[0]
            s.wakeWrite = pipeFDs[1]
            return true
        }
        guard started else {
            close(listening.fd)
            close(pipeFDs[0])
            close(pipeFDs[1])
            throw AdminServerError("the admin server was already started")
        }
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop(listenFD: listening.fd, wake: pipeFDs[0])
            threads.leave()
        }
        thread.name = "kiewatch-admin-accept"
        thread.start()
        logger.info("admin.listening", ["path": path])
    }

    /// Stops accepting, ends every session, removes the socket file. Waits for the threads, at
    /// most `limit`, so no session outlives the agent's store (a session stuck in an agent
    /// action is left behind after that). Idempotent.
    package func stop(waitingAtMost limit: Duration = .seconds(5)) {
        let wakeWrite = state.withLock { s -> Int32? in
            guard s.phase == .running else {
                s.phase = .stopped
                return nil
            }
            s.phase = .stopped
            for fd in s.clients { shutdown(fd, Int32(SHUT_RDWR)) }
            return s.wakeWrite
        }
        guard let wakeWrite else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        let millis = Int(min(max(limit / .milliseconds(1), 0), 86_400_000))
        let finished = threads.wait(timeout: .now() + .milliseconds(millis)) == .success
        let (inode, wakeRead) = state.withLock { s in (s.inode, s.wakeRead) }
        // Remove the file only if it is still the socket we bound (a new agent may own the path now).
        if let inode, AdminSocket.inode(of: path) == inode { unlink(path) }
        if finished {
            close(wakeRead)
            close(wakeWrite)
        } else {
            // A session stuck in an agent action still polls the pipe: leave it open rather
            // than let its descriptor number be reused under that poll.
            logger.warn("admin.stop_timeout", ["detail": "a console session did not end within \(limit)"])
        }
        logger.info("admin.stopped", ["path": path])
    }

    /// The number of open console sessions (for tests and `status`).
    package var clientCount: Int { state.withLock { $0.clients.count } }

    // MARK: Accepting

    private func acceptLoop(listenFD: Int32, wake: Int32) {
        defer {
            state.withLock { $0.listenFD = -1 }
            close(listenFD)
        }
        while AdminSocket.waitReadable(listenFD, wake: wake, timeoutMillis: -1) {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                switch errno {
                case EINTR, EAGAIN, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.warn("admin.accept_failed", ["error": String(cString: strerror(errno))])
                    usleep(100_000)  // out of descriptors: let sessions end rather than spin
                    continue
                default:
                    logger.error("admin.accept_failed", ["error": String(cString: strerror(errno))])
                    return
                }
            }
            AdminSocket.setCloseOnExec(fd)
            admit(fd, wake: wake)
        }
    }

    private func admit(_ fd: Int32, wake: Int32) {
        let admitted = state.withLock { s -> Bool in
            guard s.phase == .running, s.clients.count < configuration.maxClients else { return false }
            s.clients.insert(fd)
            return true
        }
        guard admitted else {
            // Take the client's request first (it writes right after connecting): closing
            // with it unread would make its write fail instead of letting it read the reason.
            // Bounded to 200 ms, so a silent client cannot hold the accept loop.
            if AdminSocket.waitReadable(fd, wake: wake, timeoutMillis: 200) {
                var discard = [UInt8](repeating: 0, count: 4_096)
                _ = discard.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            }
            let answer = AdminProtocol.frame(
                output: "too many console sessions (\(configuration.maxClients)); close one and try again", status: .error)
            _ = AdminSocket.sendAll(fd, answer, flags: Int32(MSG_DONTWAIT))
            close(fd)
            logger.warn("admin.client_refused", ["reason": "max_clients"])
            return
        }
        AdminSocket.setSendTimeout(fd, millis: configuration.sendTimeoutMillis)
        threads.enter()
        let thread = Thread { [self] in
            let session = AdminSession(server: self, fd: fd, wake: wake)
            session.run()
            state.withLock { _ = $0.clients.remove(fd) }
            close(fd)
            threads.leave()
        }
        thread.name = "kiewatch-admin-session"
        thread.start()
    }
}
