import KieWatchCore
import KieWatchRuntime
import KieWatchStore
import Synchronization

/// Recomputes the gauges that describe what the store holds (in-flight and stale tasks per
/// model, relay backlog, store size), off the data plane, so a scrape only reads numbers:
/// in-flight from the writer's committed open-task counts, the rest on its own read connection.
final class GaugeRefresher: Sendable {
    let context: AgentContext
    private let reader: Mutex<StoreReader>
    /// Runs the reads off the cooperative pool.
    private let reads = BlockingExecutor(label: "kiewatch.gauges.reads")
    /// Models that had a non-zero gauge, so they drop back to 0 instead of going stale.
    private let shown = Mutex<Set<String>>([])

    init(context: AgentContext, reader: consuming sending StoreReader) {
        self.context = context
        self.reader = Mutex(reader)
    }

    func refresh() {
        let now = context.clock.now()
        let m = context.metrics
        do {
            let inFlight = context.writer.openTasksByModel
            let (stalePerModel, relay, bytes) = try reader.withLock { r in
                let stale = try r.db.rows(Self.selectStalePerModel, [.integer(now)])
                let relay = try r.db.rows(
                    "SELECT count(*), min(created_at) FROM relay_outbox WHERE state = 'pending'")
                return (stale, relay, r.databaseBytes)
            }
            var stale: [String: Double] = [:]
            for row in stalePerModel {
                stale[row[0].string ?? TaskLifecycle.unknownModel] = Double(row[1].int64 ?? 0)
            }
            let current = Set(inFlight.keys).union(stale.keys)
            for model in current {
                m.tasksInflight.labels(model).set(Double(inFlight[model] ?? 0))
                m.tasksStale.labels(model).set(stale[model] ?? 0)
            }
            let gone = shown.withLock { old -> Set<String> in
                let gone = old.subtracting(current)
                old = old.union(current)
                return gone
            }
            for model in gone {
                m.tasksInflight.labels(model).set(0)
                m.tasksStale.labels(model).set(0)
            }
            let depth = relay.first?[0].int64 ?? 0
            m.relayQueueDepth.labels().set(Double(depth))
            let oldest = relay.first?[1].int64
            m.relayOldestPending.labels().set(oldest.map { Double(max(0, now - $0)) / 1000 } ?? 0)
            m.storeBytes.labels().set(Double(bytes))
        } catch {
            context.logger.error("gauges.read_failed", ["error": "\(error)"])
        }
        m.createRateLimitUtilization.labels().set(context.createWindow.utilization())
    }

    /// Stale tasks per model: a range of the open-deadline index, then one row lookup per
    /// stale task for its model (few, unless Kie has stopped calling back altogether).
    static let selectStalePerModel = """
        SELECT model, count(*) FROM tasks INDEXED BY tasks_open_deadline_callback
        WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND expects_callback = 1
        GROUP BY model
        """

    /// Refreshes every `interval` until cancelled, the reads off the cooperative pool.
    func run(every interval: Duration = .seconds(2)) async {
        while !Task.isCancelled {
            await reads.run { self.refresh() }
            try? await Task.sleep(for: interval)
        }
    }
}
