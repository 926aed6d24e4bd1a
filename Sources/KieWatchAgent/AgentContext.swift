import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import Synchronization

/// The dependencies every part of the agent shares: configuration, the injected clock, the
/// store's single writer, metrics, the logger and the outbound transports.
final class AgentContext: Sendable {
    let configuration: AgentConfiguration
    let clock: any WallClock
    let writer: StoreWriter
    let metrics: AgentMetrics
    let logger: Logger
    let deadlines: DeadlinePolicy
    let createWindow: CreateRateWindow
    /// Calls to Kie (proxy, recovery polls, credit checks).
    let upstream: any HTTPTransport
    /// Deliveries to the app's callback URLs.
    let relayTransport: any HTTPTransport
    /// Wakes the relay worker when a relay was queued.
    let relayWakeup = Wakeup()
    /// Takes the agent's own secrets out of bodies Kie echoes them in.
    let scrubber: SecretScrubber
    /// The port the HTTP server actually bound (differs from `--listen` when that asked for 0).
    let boundPort = Atomic<Int>(0)

    init(
        configuration: AgentConfiguration, clock: any WallClock, writer: StoreWriter, metrics: AgentMetrics,
        logger: Logger, upstream: any HTTPTransport, relayTransport: any HTTPTransport
    ) {
        self.configuration = configuration
        self.clock = clock
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
        self.deadlines = DeadlinePolicy(settings: configuration.deadlines)
        self.createWindow = CreateRateWindow(clock: clock)
        self.upstream = upstream
        self.relayTransport = relayTransport
        scrubber = SecretScrubber(
            secrets: [configuration.callbackSecret, configuration.webhookHMACKey, configuration.apiKey])
    }

    /// The callback URL to give Kie for a route, with the port actually bound.
    func callbackURL(for family: ModelFamily, token: String) -> String {
        var effective = configuration
        let port = boundPort.load(ordering: .relaxed)
        if port != 0 { effective.listen.port = port }
        return effective.callbackURL(for: family, token: token)
    }

    /// Records a failed store write: logged with what was lost, counted in `kiewatch_store_errors_total`.
    func storeFailed(_ what: String, _ error: any Error, task: String? = nil) {
        metrics.storeErrors.labels().increment()
        logger.error("store.write_failed", ["what": what, "task": task ?? "-", "error": "\(error)"])
    }
}
