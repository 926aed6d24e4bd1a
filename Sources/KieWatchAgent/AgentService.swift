import Dispatch
import KieWatchCore
import KieWatchHTTP

/// The agent bound to its sockets: the HTTP server on `--listen` and the console's admin
/// socket. Started in order: store, HTTP listener, admin socket, background work; a start
/// that fails midway closes what it had opened before it throws. Stopped in one place
/// (`stop`) under one time limit: stop taking work (listeners closed, background work
/// cancelled) and drain what is under way, then flush and close the store.
public final class AgentService: Sendable {
    public let agent: Agent
    public let server: HTTPServer
    package let admin: AdminServer
    /// The bound HTTP port (the chosen one when `--listen` asked for port 0).
    public let port: Int

    private init(agent: Agent, server: HTTPServer, admin: AdminServer, port: Int) {
        self.agent = agent
        self.server = server
        self.admin = admin
        self.port = port
    }

    /// Opens the store, binds the HTTP listener and the admin socket, starts background work.
    /// Errors say what failed in one line (a bad database file, an address in use).
    public static func start(
        configuration: AgentConfiguration, clock: any WallClock = SystemClock(), logger: Logger,
        serverConfiguration: HTTPServer.Configuration = HTTPServer.Configuration()
    ) async throws -> AgentService {
        let agent: Agent
        do {
            agent = try await Agent.open(configuration: configuration, clock: clock, logger: logger)
        } catch {
            throw ServiceError("cannot open the store at \(configuration.databasePath): \(error)")
        }
        // A proxied call may take the whole upstream timeout; the server must not cut it first.
        var serverConfiguration = serverConfiguration
        let upstreamWait = Duration.milliseconds(configuration.upstreamTimeoutMillis + 5_000)
        if serverConfiguration.handlerTimeout < upstreamWait { serverConfiguration.handlerTimeout = upstreamWait }
        let server = HTTPServer(configuration: serverConfiguration, handler: agent.router)
        let port: Int
        do {
            port = try await server.start(host: configuration.listen.host, port: configuration.listen.port)
        } catch {
            await server.shutdown(gracePeriod: .zero)  // its event loops may have started
            await agent.stop()
            throw ServiceError("cannot listen on \(configuration.listen): \(error)")
        }
        agent.context.boundPort.store(port, ordering: .relaxed)
        var effective = configuration
        effective.listen.port = port
        let admin = AdminServer(
            path: configuration.adminSocketPath, databasePath: configuration.databasePath, clock: clock,
            actions: agent, logger: logger)
        do {
            try admin.start()
        } catch {
            await server.shutdown(gracePeriod: .zero)
            await agent.stop()
            throw ServiceError("cannot open the admin socket at \(configuration.adminSocketPath): \(error)")
        }
        agent.connectionCount.withLock { $0 = { [server] in server.connectionCount } }
        agent.startBackgroundWork(activity: { [server] in
            let stats = server.stats
            return stats.acceptedConnections + stats.requestsServed
        })
        logger.info(
            "agent.started",
            ["version": KieWatchVersion.current, "listen": effective.listen.description,
             "public_url": URLRedaction.redact(configuration.publicURL ?? "http://\(effective.listen)"),
             "upstream": configuration.upstream, "db": configuration.databasePath,
             "admin_socket": configuration.adminSocketPath,
             "recovery": configuration.apiKey == nil ? "off (no KIE_API_KEY)" : "on",
             "callback_secret": configuration.callbackSecret == nil ? "not set: callbacks are not authenticated" : "set"])
        return AgentService(agent: agent, server: server, admin: admin, port: port)
    }

    /// Graceful stop, over within `gracePeriod` (plus the time to commit what is queued).
    /// 1. At once and side by side: the HTTP listener closes, idle connections close and
    ///    requests under way finish until the deadline (then they are cut); the admin socket
    ///    closes and console sessions end (one waiting on the agent, until the deadline); the
    ///    background work (relay, recovery, credit checks, gauges, retention) is cancelled and
    ///    awaited until the deadline, then abandoned. Nothing new starts once the stop began.
    /// 2. Everything queued for the store is committed and the store closed.
    public func stop(gracePeriod: Duration = .seconds(10)) async {
        let deadline = ShutdownDeadline(after: gracePeriod)
        async let requestsDrained: Void = server.shutdown(gracePeriod: deadline.remaining)
        async let consoleClosed: Void = stopAdmin(waitingAtMost: deadline.remaining)
        await agent.stopBackgroundWork(within: deadline)
        _ = await (requestsDrained, consoleClosed)
        await agent.closeStore()
    }

    /// `stop(gracePeriod:)`, cut short when `interrupt` returns first (a second signal): then
    /// what is queued is committed and the store closed at once (`stopNow`), and the
    /// interrupt's value is returned; nil when the graceful stop finished.
    public func stop<T: Sendable>(
        gracePeriod: Duration, interruptedBy interrupt: @escaping @Sendable () async -> T
    ) async -> T? {
        await firstToFinish(
            {
                await self.stop(gracePeriod: gracePeriod)
                return nil
            },
            {
                let value = await interrupt()
                await self.stopNow()
                return value
            })
    }

    /// The stop that does not wait for anyone: background work is cancelled, what is queued
    /// for the store is committed (a close under way is waited for) and the store closed.
    /// Requests under way are left to the process exit that follows.
    public func stopNow() async {
        await agent.closeStore()
    }

    /// `AdminServer.stop` blocks while it waits for session threads: off the task executor.
    private func stopAdmin(waitingAtMost limit: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [admin] in
                admin.stop(waitingAtMost: limit)
                continuation.resume()
            }
        }
    }
}

/// Why the agent could not start, in one line.
public struct ServiceError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
