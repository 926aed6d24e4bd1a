import Synchronization

/// What every connection of one server shares: settings fixed at `init`, the handler, the
/// counters and the shutdown flag. All immutable or atomic, hence `Sendable` without locks.
final class ServerContext: Sendable {
    let configuration: HTTPServer.Configuration
    let handler: any HTTPHandler
    let limits: HTTPRequestParser.Limits
    let counters = ServerCounters()
    /// Set when shutdown begins: responses from then on carry `Connection: close`.
    let shuttingDown = Atomic<Bool>(false)
    /// Handler tasks not yet returned, answered or cut (shutdown lets cut ones wind up).
    let handlersRunning = Atomic<Int>(0)

    // Timeouts in nanoseconds on the monotonic clock, computed once.
    let headerTimeout: UInt64
    let bodyTimeout: UInt64
    let idleTimeout: UInt64
    let handlerTimeout: UInt64
    let writeTimeout: UInt64
    let lingerTimeout: UInt64

    init(configuration: HTTPServer.Configuration, handler: any HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
        self.limits = configuration.parserLimits
        headerTimeout = configuration.headerReadTimeout.nanoseconds
        bodyTimeout = configuration.bodyReadTimeout.nanoseconds
        idleTimeout = configuration.idleTimeout.nanoseconds
        handlerTimeout = configuration.handlerTimeout.nanoseconds
        writeTimeout = configuration.writeTimeout.nanoseconds
        lingerTimeout = configuration.lingerTimeout.nanoseconds
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
}
