import KieWatchCore
import KieWatchHTTP

/// The agent bound to its sockets: the HTTP server on `--listen` and the console's admin
/// socket, started in order and stopped in reverse (stop accepting, drain in-flight requests,
/// stop the loops, flush the store).
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
            agent = try Agent(configuration: configuration, clock: clock, logger: logger)
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
            port = try server.start(host: configuration.listen.host, port: configuration.listen.port)
        } catch {
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
            await server.shutdown(gracePeriod: .seconds(1))
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

    /// Graceful stop: no new connections, in-flight requests finish, loops stop, store flushed.
    public func stop(gracePeriod: Duration = .seconds(10)) async {
        await server.shutdown(gracePeriod: gracePeriod)
        admin.stop()
        await agent.stop()
    }
}

/// Why the agent could not start, in one line.
public struct ServiceError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
