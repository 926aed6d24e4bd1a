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
    func callbackURL(for family: TaskFamily, token: String) -> String {
        bound.callbackURL(for: family, token: token)
    }

    /// The configuration with the port actually bound.
    private var bound: AgentConfiguration {
        var effective = configuration
        let port = boundPort.load(ordering: .relaxed)
        if port != 0 { effective.listen.port = port }
        return effective
    }

    /// The agent's callback URLs as Kie echoes them back (`param`, `paramJson`): under the
    /// effective public URL, either family, with or without a route token, with the callback
    /// secret, with it redacted (`webhooks.body`, `relay_outbox.body`), or without one (tasks
    /// created before a secret was set).
    var callbackEcho: EchoedCallbackURL {
        let port = boundPort.load(ordering: .relaxed)
        if let cached = echoCache.withLock({ $0 }), cached.port == port { return cached.echo }
        var queries = ["", "?secret=" + URLRedaction.placeholder]
        if let secret = configuration.callbackSecret, !secret.isEmpty { queries.append("?secret=" + percentEncode(secret)) }
        let echo = EchoedCallbackURL(
            bases: TaskFamily.allCases.map { bound.effectivePublicURL + $0.webhookPath }, queries: queries)
        echoCache.withLock { $0 = (port, echo) }
        return echo
    }
    /// `callbackEcho` for the port it was made with (the bound port is set once, at start).
    private let echoCache = Mutex<(port: Int, echo: EchoedCallbackURL)?>(nil)

    /// A body Kie sent as the app gets it: the echo of the agent's callback URL is the app's
    /// own URL again, as if the app had talked to Kie itself. `body` has been through the
    /// scrubber; without an app URL it is passed on as it is.
    func bodyForApp(_ body: [UInt8], appURL: String?) -> [UInt8] {
        guard let appURL else { return body }
        let echoes = callbackEcho.echoes(in: body)
        return EchoedCallbackURL.replacing(echoes, in: body, with: appURL)
    }

    /// Records a failed store write: logged with what was lost, counted in `kiewatch_store_errors_total`.
    func storeFailed(_ what: String, _ error: any Error, task: String? = nil) {
        metrics.storeErrors.labels().increment()
        logger.error("store.write_failed", ["what": what, "task": task ?? "-", "error": "\(error)"])
    }
}
