import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchStore

/// The agent bound to its sockets, run by one `ServiceGroup`. The order below is the whole
/// lifecycle: started in order (store, HTTP listener, admin socket, background work) and
/// stopped in reverse under one time limit (background work cancelled, console sessions
/// ended, the listener closed and requests under way drained, then everything queued
/// committed and the store closed). A start that fails midway stops what it had started
/// before it throws.
public final class AgentService: Sendable {
    public let agent: Agent
    public let server: HTTPServer
    package let admin: AdminServer
    /// The bound HTTP port (the chosen one when `--listen` asked for port 0).
    public let port: Int
    private let group: ServiceGroup

    private init(agent: Agent, server: HTTPServer, admin: AdminServer, port: Int, group: ServiceGroup) {
        self.agent = agent
        self.server = server
        self.admin = admin
        self.port = port
        self.group = group
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
        let http = HTTPServerService(
            server: server, host: configuration.listen.host, port: configuration.listen.port,
            onBound: { [context = agent.context] port in context.boundPort.store(port, ordering: .relaxed) })
        let admin = AdminServer(
            path: configuration.adminSocketPath, databasePath: configuration.databasePath, clock: clock,
            actions: agent, logger: logger)
        let console = AdminServerService(admin: admin)
        agent.connectionCount.withLock { $0 = { [server] in server.connectionCount } }

        let group = ServiceGroup(
            [agent.storeService, http, console]
                + agent.backgroundServices(activity: { [server] in
                    let stats = server.stats
                    return stats.acceptedConnections + stats.requestsServed
                }),
            maximumShutdownDuration: .milliseconds(configuration.shutdownGraceMillis), logger: logger)
        do {
            try await group.start()
        } catch {
            switch error.service {
            case http.name: throw ServiceError("cannot listen on \(configuration.listen): \(error.underlying ?? error)")
            case console.name:
                throw ServiceError(
                    "cannot open the admin socket at \(configuration.adminSocketPath): \(error.underlying ?? error)")
            default: throw ServiceError("\(error)")
            }
        }
        let port = agent.context.boundPort.load(ordering: .relaxed)
        var effective = configuration
        effective.listen.port = port
        logger.info(
            "agent.started",
            ["version": KieWatchVersion.current, "listen": effective.listen.description,
             "public_url": URLRedaction.redact(configuration.publicURL ?? "http://\(effective.listen)"),
             "upstream": configuration.upstream, "db": configuration.databasePath,
             "admin_socket": configuration.adminSocketPath,
             "recovery": configuration.apiKey == nil ? "off (no KIE_API_KEY)" : "on",
             "callback_secret": configuration.callbackSecret == nil ? "not set: callbacks are not authenticated" : "set"])
        return AgentService(agent: agent, server: server, admin: admin, port: port, group: group)
    }

    /// Graceful stop, in reverse start order, over within `gracePeriod` (plus the time to
    /// commit what is queued): the background work (relay, recovery, credit checks, gauges,
    /// retention) is cancelled and awaited; the admin socket closes and console sessions end;
    /// the HTTP listener closes, idle connections close and requests under way finish (1 s
    /// before the end of what is left of the grace, they are cut); then everything queued is
    /// committed and the store closed. At the end of the grace, what has not ended is
    /// cancelled and left behind, and the store is still flushed and closed.
    public func stop(gracePeriod: Duration = .seconds(10)) async {
        await group.shutdown(within: gracePeriod)
    }

    /// `stop(gracePeriod:)`, cut short when `interrupt` returns first (a second signal): then
    /// everything still running is cancelled and left behind, what is queued is committed and
    /// the store closed at once, and the interrupt's value is returned; nil when the graceful
    /// stop finished.
    public func stop<T: Sendable>(
        gracePeriod: Duration, interruptedBy interrupt: @escaping @Sendable () async -> T
    ) async -> T? {
        await group.shutdown(within: gracePeriod, interruptedBy: interrupt).interrupt
    }
}

/// Why the agent could not start, in one line.
public struct ServiceError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
