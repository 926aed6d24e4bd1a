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
            let (staleCounts, relay, bytes) = try reader.withLock { r in
                (try r.staleTaskCounts(now: now), try r.relayQueue(), r.databaseBytes)
            }
            let stale = staleCounts.mapValues(Double.init)
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
            m.relayQueueDepth.labels().set(Double(relay.depth))
            m.relayOldestPending.labels().set(relay.oldestCreatedAt.map { Double(max(0, now - $0)) / 1000 } ?? 0)
            m.storeBytes.labels().set(Double(bytes))
        } catch {
            context.logger.error("gauges.read_failed", ["error": "\(error)"])
        }
        m.createRateLimitUtilization.labels().set(context.createWindow.utilization())
    }

    /// Refreshes every `interval` until cancelled, the reads off the cooperative pool.
    func run(every interval: Duration = .seconds(2)) async {
        while !Task.isCancelled {
            await reads.run { self.refresh() }
            try? await Task.sleep(for: interval)
        }
    }
}
