import KieWatchCore
import Synchronization

/// An HTTP/1.1 server on non-blocking POSIX sockets and `epoll`.
///
/// Event loops (one thread each, `Configuration.eventLoopCount`) read and parse requests and
/// write responses; each complete request runs its `HTTPHandler` in a Swift concurrency `Task`,
/// so a handler may await anything (a group commit, an upstream call) without holding a loop,
/// unless the handler takes it on the loop through `handleInline` and answers by callback
/// (the agent's webhooks: no task per request on the hottest path).
/// Every limit in `Configuration` is enforced with the matching status and a closed connection,
/// and never affects other connections.
///
/// ```swift
/// let server = HTTPServer(configuration: .init(), handler: ClosureHandler { request in
///     .text("hello \(request.path)")
/// })
/// let port = try await server.start(host: "127.0.0.1", port: 0)
/// ...
/// await server.shutdown(gracePeriod: .seconds(10))
/// ```
public final class HTTPServer: Sendable {
    public let configuration: Configuration
    private let context: ServerContext
    private let state = Mutex<State>(.idle)

    /// The lifecycle; re-checked after every suspension in `shutdown`.
    private enum State: Sendable {
        case idle
        case running([LoopBound<ConnectionTable>])
        case shuttingDown
        case stopped
    }

    public init(configuration: Configuration = Configuration(), handler: any HTTPHandler) {
        self.configuration = configuration
        self.context = ServerContext(configuration: configuration, handler: handler)
    }

    /// Listens on `host:port` (`127.0.0.1`, `0.0.0.0`, `::1`, `[::1]`, `localhost`) and returns
    /// the bound port (the chosen one when `port` is 0). May be called again to listen on more
    /// addresses; the first call starts the event loops.
    @discardableResult
    public func start(host: String, port: Int) async throws(HTTPServerError) -> Int {
        let listener = try Listener.tcp(host: host, port: port, backlog: Int32(clamping: configuration.backlog))
        let bound = listener.address.port
        try await add(listener)
        return bound
    }

    /// Listens on a Unix-domain socket at `path` (mode 0600; a stale socket file is replaced).
    public func start(unixSocketPath path: String) async throws(HTTPServerError) {
        try await add(try Listener.unix(path: path, backlog: Int32(clamping: configuration.backlog)))
    }

    /// Open connections right now.
    public var connectionCount: Int { context.counters.open.load(ordering: .relaxed) }

    public var stats: Stats { context.counters.snapshot() }

    /// Stops accepting (listeners close at once), closes idle keep-alive connections, lets
    /// requests under way finish and writes their responses (with `Connection: close`), then
    /// closes whatever is left and stops the event loops, all within `gracePeriod`: requests
    /// still under way 1 s before its end (a quarter before, for a grace under 4 s) are cut,
    /// their handler tasks cancelled, and the rest of the grace lets those handlers wind up (a
    /// proxy records the cut call) before the method returns. Cancelling the calling task
    /// ends the grace: what is left is closed at once and the handlers are not waited for.
    public func shutdown(gracePeriod: Duration) async {
        let tables: [LoopBound<ConnectionTable>]? = state.withLock { state in
            guard case .running(let tables) = state else {
                if case .idle = state { state = .stopped }
                return nil
            }
            state = .shuttingDown
            return tables
        }
        guard let tables else { return }
        context.shuttingDown.store(true, ordering: .relaxed)
        for table in tables { table.loop.execute { table.value.beginShutdown() } }

        let clock = ContinuousClock()
        let grace = max(gracePeriod, .zero)
        let deadline = clock.now + grace
        let cut = deadline - min(grace / 4, .seconds(1))
        while connectionCount > 0 && clock.now < cut && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for table in tables { table.loop.execute { table.value.closeAll() } }
        for table in tables { await table.loop.stop() }
        while context.handlersRunning.load(ordering: .relaxed) > 0 && clock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        state.withLock { $0 = .stopped }
    }

    private func add(_ listener: Listener) async throws(HTTPServerError) {
        let tables = try state.withLock { (state) throws(HTTPServerError) -> [LoopBound<ConnectionTable>] in
            switch state {
            case .running(let tables):
                return tables
            case .shuttingDown, .stopped:
                throw HTTPServerError(code: .invalidState, message: "the server is shut down", context: "start")
            case .idle:
                let tables = try makeLoops()
                state = .running(tables)
                return tables
            }
        }
        // Registration happens on the loop that owns the listener; wait for its verdict (off
        // the caller's thread: a continuation, not a semaphore) so a failure is reported to
        // the caller, not lost.
        let first = tables[0]
        let handoff = ListenerHandoff(listener)
        let failure = await withCheckedContinuation { (continuation: CheckedContinuation<HTTPServerError?, Never>) in
            let verdict = RegistrationVerdict(continuation)
            first.loop.execute {
                let acceptor = Acceptor(listener: handoff.listener, table: first.value, targets: tables)
                do throws(HTTPServerError) {
                    try first.value.add(acceptor)
                    verdict.resume(nil)
                } catch {
                    verdict.resume(error)
                }
            }
        }
        if let failure { throw failure }
    }

    private func makeLoops() throws(HTTPServerError) -> [LoopBound<ConnectionTable>] {
        let count = max(1, configuration.eventLoopCount)
        var tables: [LoopBound<ConnectionTable>] = []
        for index in 0..<count {
            let loop = try EventLoop(name: "kiewatch-http-\(index)", tick: configuration.timerResolution)
            let table = ConnectionTable(loop: loop, context: context)
            loop.onTick { table.sweep() }
            tables.append(LoopBound(table, loop: loop))
        }
        for table in tables { table.loop.start() }
        return tables
    }
}

/// The loop's answer to a listener registration, given exactly once: by the job, or, when the
/// loop stopped before running it (a shutdown racing the start), when the dropped job
/// releases it.
private final class RegistrationVerdict: Sendable {
    private let continuation: Mutex<CheckedContinuation<HTTPServerError?, Never>?>

    init(_ continuation: CheckedContinuation<HTTPServerError?, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ error: HTTPServerError?) {
        continuation.withLock { $0.take() }?.resume(returning: error)
    }

    deinit {
        resume(HTTPServerError(code: .invalidState, message: "the server is shut down", context: "start"))
    }
}

/// Moves a freshly bound listener to the loop that will own it.
///
/// `@unchecked Sendable`: `add` gives up the listener when it creates this, so only the loop
/// thread touches it afterwards.
private struct ListenerHandoff: @unchecked Sendable {
    let listener: Listener
    init(_ listener: Listener) { self.listener = listener }
}
