#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The console's side of the admin socket: sends one command, returns the agent's answer.
///
/// One connection per command: connect, send the session directives (`options.directives`)
/// and the command in one write, read the answers, close. Nothing survives between commands,
/// so a restarted agent is simply reached again by the next command, and `watch` is a loop of
/// independent requests. On a Unix socket the extra connect costs microseconds.
///
/// Every failure is a `ConsoleError` whose message is the one line to show, e.g.
/// `cannot reach the agent at ./kiewatch.sock: connection refused (is 'kiewatch serve'
/// running? or use --db PATH for offline mode)`.
public struct AdminClient: Sendable {
    public let socketPath: String
    public var options: AdminProtocol.SessionOptions
    /// Longest silence tolerated from the agent while waiting for an answer.
    public var timeoutMillis: Int32

    public init(
        socketPath: String = AdminProtocol.defaultSocketPath,
        options: AdminProtocol.SessionOptions = .init(),
        timeoutMillis: Int32 = 60_000
    ) {
        self.socketPath = socketPath
        self.options = options
        self.timeoutMillis = timeoutMillis
    }

    /// Runs `command` on the agent.
    ///
    /// - Parameter onLine: when given, receives each content line as it arrives (the lines
    ///   are then not collected in the response); returning false stops reading and closes
    ///   the connection, which tells the agent to stop (`watch`, Ctrl-C, a pager that quit).
    /// - Returns: the answer; an `error` status is an answer, not a thrown error (the agent
    ///   ran and said no). A directive the agent refused is returned the same way.
    public func execute(_ command: String, onLine: ((String) -> Bool)? = nil) throws(ConsoleError) -> AdminResponse {
        let fd = try connect()
        defer { close(fd) }
        let directives = options.directives
        var request: [UInt8] = []
        for directive in directives { request += AdminProtocol.encodeRequest(directive.line) }
        request += AdminProtocol.encodeRequest(command)
        do {
            try writeAll(fd: fd, request, isSocket: true)
        } catch {
            throw lost("closed the connection before taking the command", error.errno)
        }

        var parser = AdminResponseParser()
        var pendingDirectiveAnswers = directives.count
        var lines: [String] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try receive(fd, into: &chunk, mid: parser.isMidAnswer)
            if count == 0 {
                throw parser.isMidAnswer || !lines.isEmpty
                    ? lost("closed the connection in the middle of an answer", nil)
                    : lost("closed the connection without answering", nil)
            }
            for event in try parser.feed(chunk[0..<count]) {
                switch event {
                case .line(let line):
                    if pendingDirectiveAnswers > 0 || onLine == nil {
                        lines.append(line)
                    } else if onLine?(line) == false {
                        return AdminResponse(status: .ok, lines: [], wasCancelled: true)
                    }
                case .end(let status):
                    if pendingDirectiveAnswers > 0 {
                        pendingDirectiveAnswers -= 1
                        if status == .error { return AdminResponse(status: .error, lines: lines) }
                        lines = []
                    } else {
                        return AdminResponse(status: status, lines: lines)
                    }
                }
            }
        }
    }

    private func connect() throws(ConsoleError) -> Int32 {
        guard let address = UnixSocketAddress(path: socketPath) else {
            throw unreachable("the socket path is empty or longer than \(UnixSocketAddress.maxPathBytes) bytes", nil)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw unreachable(errnoDescription(errno), errno) }
        while true {
            let result = address.withSockaddr { systemConnect(fd, $0, $1) }
            if result == 0 { return fd }
            let error = errno
            if error == EINTR { continue }
            close(fd)
            throw unreachable(errnoDescription(error), error)
        }
    }

    /// One `recv`, after waiting at most `timeoutMillis` for the socket to become readable.
    private func receive(_ fd: Int32, into chunk: inout [UInt8], mid: Bool) throws(ConsoleError) -> Int {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready: Int
        do {
            ready = try retryingEINTR("poll") { Int(poll(&poller, 1, timeoutMillis)) }
        } catch {
            throw lost("could not be read from (\(error.message))", error.errno)
        }
        if ready == 0 {
            throw ConsoleError(
                .timeout,
                "the agent at \(socketPath) did not answer within \(HumanFormat.duration(ms: Int64(timeoutMillis)))"
                    + " (it may be overloaded or stuck; check its log)"
            )
        }
        do {
            return try retryingEINTR("recv") {
                chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
        } catch {
            throw lost(mid ? "reset the connection in the middle of an answer" : "reset the connection", error.errno)
        }
    }

    private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
        Glibc.connect(fd, address, length)
        #else
        Darwin.connect(fd, address, length)
        #endif
    }

    private func unreachable(_ reason: String, _ errno: Int32?) -> ConsoleError {
        ConsoleError(
            .agentUnreachable,
            "cannot reach the agent at \(socketPath): \(reason) (is 'kiewatch serve' running? or use --db PATH for offline mode)",
            errno: errno
        )
    }

    private func lost(_ what: String, _ errno: Int32?) -> ConsoleError {
        ConsoleError(
            .connectionLost,
            "the agent at \(socketPath) \(what) (it may have crashed or restarted; check its log)",
            errno: errno
        )
    }
}
