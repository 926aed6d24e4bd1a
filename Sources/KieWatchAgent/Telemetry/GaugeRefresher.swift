import KieWatchCore
import KieWatchStore
import Synchronization

/// Recomputes the gauges that describe what the store holds (in-flight and stale tasks per
/// model, relay backlog, store size) on its own read connection, off the data plane, so a
/// scrape only reads numbers.
final class GaugeRefresher: Sendable {
    let context: AgentContext
    private let reader: Mutex<StoreReader>
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
            let (perModel, relay, bytes) = try reader.withLock { r in
                // One walk of the open tasks' (model, deadline_at, expects_callback, state) index: no
                // row lookups, no sort. Stale as everywhere: expects a callback, deadline passed.
                let perModel = try r.db.rows(Self.selectOpenPerModel, [.integer(now)])
                let relay = try r.db.rows(
                    "SELECT count(*), min(created_at) FROM relay_outbox WHERE state = 'pending'")
                return (perModel, relay, r.databaseBytes)
            }
            var current = Set<String>()
            for row in perModel {
                let model = row[0].string ?? TaskLifecycle.unknownModel
                current.insert(model)
                m.tasksInflight.labels(model).set(Double(row[1].int64 ?? 0))
                m.tasksStale.labels(model).set(Double(row[2].int64 ?? 0))
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

    static let selectOpenPerModel = """
        SELECT model, count(*), sum(expects_callback = 1 AND deadline_at <= ?1)
        FROM tasks WHERE state NOT IN ('success', 'fail') GROUP BY model
        """

    func run(every interval: Duration = .seconds(2)) async {
        while !Task.isCancelled {
            refresh()
            try? await Task.sleep(for: interval)
        }
    }
}
