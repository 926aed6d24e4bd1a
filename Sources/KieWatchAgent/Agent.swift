import KieWatchCore
import KieWatchHTTP
import KieWatchMetrics
import KieWatchRuntime
import KieWatchStore
import Synchronization

/// The kiewatch agent without its sockets: store, proxy, webhook receiver, relay, recovery,
/// credit checks, gauges and retention. `router` serves HTTP; `AgentService` binds it and runs
/// the store and the background work as services (`storeService`, `backgroundServices`).
/// Tests drive it in-process with a `TestClock` and `tick`-style calls.
public final class Agent: AgentActions, Sendable {
    public let configuration: AgentConfiguration
    public let router: AgentRouter
    public let metrics: AgentMetrics
    let context: AgentContext
    let relay: RelayWorker
    let recovery: RecoveryScheduler
    let gauges: GaugeRefresher
    let credits: CreditTracker
    private let startedAt: EpochMillis
    /// Open HTTP connections, reported by the server once it runs.
    let connectionCount = Mutex<(@Sendable () -> Int)?>(nil)

    /// Opens (or creates) the store and rebuilds counters and learned deadlines from it.
    /// Throws a `StoreError` with a clear message for a file that is not a kiewatch database.
    /// A failure after the store's writer thread started closes the writer (in the background:
    /// `open` waits for it).
    public convenience init(
        configuration: AgentConfiguration, clock: any WallClock = SystemClock(), logger: Logger = Logger(),
        upstream: (any HTTPTransport)? = nil, relayTransport: (any HTTPTransport)? = nil,
        metrics: AgentMetrics? = nil
    ) throws {
        let metrics = metrics ?? AgentMetrics(modelLabelCap: configuration.modelLabelCap)
        let writer = try Self.openWriter(configuration, clock: clock, logger: logger, metrics: metrics)
        do {
            try self.init(
                configuration: configuration, clock: clock, logger: logger, upstream: upstream,
                relayTransport: relayTransport, metrics: metrics, writer: writer)
        } catch {
            writer.close(then: {})
            throw error
        }
    }

    /// `init` for a start that must not leave anything behind when it fails: a failure after
    /// the writer thread started returns only once the writer is closed (its thread ended,
    /// the file closed). Opening, migrating and reading the file block: they run on a queue
    /// of their own, off the cooperative pool.
    public static func open(
        configuration: AgentConfiguration, clock: any WallClock = SystemClock(), logger: Logger = Logger(),
        upstream: (any HTTPTransport)? = nil, relayTransport: (any HTTPTransport)? = nil,
        metrics: AgentMetrics? = nil
    ) async throws -> Agent {
        let metrics = metrics ?? AgentMetrics(modelLabelCap: configuration.modelLabelCap)
        let opening = BlockingExecutor(label: "kiewatch.store.open")
        let writer = try await opening.run {
            try openWriter(configuration, clock: clock, logger: logger, metrics: metrics)
        }
        do {
            return try await opening.run {
                try Agent(
                    configuration: configuration, clock: clock, logger: logger, upstream: upstream,
                    relayTransport: relayTransport, metrics: metrics, writer: writer)
            }
        } catch {
            await writer.close()
            throw error
        }
    }

    private static func openWriter(
        _ configuration: AgentConfiguration, clock: any WallClock, logger: Logger, metrics: AgentMetrics
    ) throws -> StoreWriter {
        var storeConfiguration = StoreConfiguration()
        storeConfiguration.clock = clock
        storeConfiguration.onError = { [metrics] error in
            metrics.storeErrors.labels().increment()
            logger.error("store.commit_failed", ["error": "\(error)"])
        }
        return try StoreWriter(path: configuration.databasePath, configuration: storeConfiguration)
    }

    /// Everything but the writer: the readers, the parts, counters and deadlines restored.
    private init(
        configuration: AgentConfiguration, clock: any WallClock, logger: Logger, upstream: (any HTTPTransport)?,
        relayTransport: (any HTTPTransport)?, metrics: AgentMetrics, writer: StoreWriter
    ) throws {
        self.configuration = configuration
        self.metrics = metrics
        context = AgentContext(
            configuration: configuration, clock: clock, writer: writer, metrics: metrics, logger: logger,
            upstream: upstream ?? HTTPClientRouter(), relayTransport: relayTransport ?? HTTPClientRouter())
        router = AgentRouter(context: context)
        relay = try RelayWorker(context: context, reader: try StoreReader(path: configuration.databasePath))
        recovery = RecoveryScheduler(context: context, reader: try StoreReader(path: configuration.databasePath))
        gauges = GaugeRefresher(context: context, reader: try StoreReader(path: configuration.databasePath))
        credits = CreditTracker(context: context)
        startedAt = clock.now()

        let reader = try StoreReader(path: configuration.databasePath)
        var balance: Double?
        try CounterRestore.restore(metrics, from: reader, credits: &balance)
        try Self.learnDeadlines(context.deadlines, from: reader)
        gauges.refresh()
    }

    /// Seeds learned deadlines with the most recent completion times per model.
    private static func learnDeadlines(_ policy: DeadlinePolicy, from reader: StoreReader) throws {
        for finished in try reader.recentTaskDurations().reversed() {
            policy.observe(model: finished.model, durationMillis: finished.durationMillis)
        }
    }

    // MARK: Services

    /// The store writer as a service: first to start, last to stop (commits what is queued).
    package var storeService: any Service { StoreWriterService(context.writer) }

    /// The background work as services, in start order: relay, recovery, gauges, credit
    /// checks (with `KIE_API_KEY`), retention, and the idle memory trim, which watches
    /// `activity` (a count of requests served) to know when the agent is quiet. Each stops by
    /// cancellation: an upstream call, a relay delivery or a credit check in flight ends as
    /// cancelled and is not recorded as an outcome (the relay stays pending, the task is
    /// polled after the restart).
    package func backgroundServices(activity: @escaping @Sendable () -> Int) -> [any Service] {
        let config = configuration
        var services: [any Service] = [
            LoopService("relay") { [relay] in await relay.run() },
            LoopService("recovery") { [recovery] in await recovery.run() },
            LoopService("gauges") { [gauges] in await gauges.run() },
        ]
        if config.apiKey != nil {
            services.append(LoopService("credits") { [credits] in
                while !Task.isCancelled {
                    await credits.refresh()
                    try? await Task.sleep(for: .milliseconds(config.creditCheckIntervalMillis))
                }
            })
        } else {
            context.logger.warn("recovery.disabled", ["reason": "KIE_API_KEY is not set: stale tasks are reported, not recovered"])
        }
        services.append(LoopService("retention") { [context] in
            // A cancelled sleep ends the loop: no prune on the way out of a stop.
            while (try? await Task.sleep(for: .seconds(60))) != nil {
                await Self.prune(context)
            }
        })
        let trim = IdleMemoryTrim(activity: activity)
        services.append(LoopService("idle-trim") { await trim.run() })
        return services
    }

    /// Commits everything queued and closes the store (a close already under way is waited
    /// for), for an agent driven without its services (tests); `AgentService` stops the
    /// store through `storeService`.
    public func stop() async {
        await context.writer.close()
    }

    /// Deletes rows older than the retention window, in small batches.
    static func prune(_ context: AgentContext) async {
        let cutoff = context.clock.now() - context.configuration.retentionMillis
        do {
            let report = try await context.writer.pruneOlderThan(cutoff)
            if report.total > 0 { context.logger.info("retention.pruned", ["rows": String(report.total)]) }
        } catch {
            context.storeFailed("retention", error)
        }
    }

    // MARK: Deterministic steps (tests and the console)

    /// Delivers due relays now.
    @discardableResult public func runRelayOnce() async -> Int { await relay.tick() }
    /// Polls due stale tasks now (as the rate allows).
    @discardableResult public func runRecoveryOnce() async -> [SyncReport] { await recovery.tick() }
    /// Recomputes the store-derived gauges now.
    public func refreshGauges() { gauges.refresh() }
    /// Checks the credit balance now.
    @discardableResult public func checkCredits() async -> Double? { await credits.refresh() }
    /// Waits until everything recorded so far is committed.
    public func flush() async throws { try await context.writer.flush() }

    // MARK: AgentActions

    public func statusSnapshot() -> AgentStatusSnapshot {
        let c = configuration
        return AgentStatusSnapshot(
            version: KieWatchVersion.current, startedAt: startedAt, listen: c.listen.description,
            publicURL: URLRedaction.redact(c.effectivePublicURL), upstream: c.upstream, uploadUpstream: c.uploadUpstream,
            adminSocket: c.adminSocketPath, databasePath: c.databasePath, recoveryEnabled: recovery.isEnabled,
            recoveryRatePerSecond: c.recoveryRatePerSecond, callbackSecretConfigured: c.callbackSecret != nil,
            signatureCheckEnabled: c.webhookHMACKey != nil,
            openConnections: connectionCount.withLock { $0?() } ?? 0,
            createRateLimitUtilization: context.createWindow.utilization())
    }

    public func sync(taskID: String) async -> SyncReport { await recovery.sync(taskID: taskID) }

    public func syncStale(limit: Int) async -> [SyncReport] { await recovery.syncStale(limit: limit) }

    public func deadline(for model: String) -> DeadlinePolicy.Choice { context.deadlines.deadline(for: model) }
}
