import KieWatchCore

/// The reads behind the gauges the agent refreshes every 2 s (`GaugeRefresher`): small
/// index ranges, never a walk of the tasks.
extension StoreReader {
    /// Stale tasks per model: a range of the open-deadline index, then one row lookup per
    /// stale task for its model (few, unless Kie has stopped calling back altogether).
    package func staleTaskCounts(now: EpochMillis) throws -> [String: Int64] {
        let s = try db.cachedStatement(TelemetrySQL.selectStalePerModel)
        defer { s.reset() }
        try s.bind(now, at: 1)
        var counts: [String: Int64] = [:]
        while try s.step() { counts[s.string(at: 0)] = s.int64(at: 1) }
        return counts
    }

    /// The relay outbox's pending items and when the oldest was queued (`relay_outbox_state_created`).
    package func relayQueue() throws -> RelayQueue {
        let s = try db.cachedStatement(TelemetrySQL.selectRelayQueue)
        defer { s.reset() }
        guard try s.step() else { return RelayQueue(depth: 0, oldestCreatedAt: nil) }
        return RelayQueue(depth: s.int64(at: 0), oldestCreatedAt: s.optionalInt64(at: 1))
    }
}

/// The gauges' SQL, named so the query-plan tests check the text the agent runs.
package enum TelemetrySQL {
    package static let selectStalePerModel = """
        SELECT model, count(*) FROM tasks INDEXED BY tasks_open_deadline_callback
        WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND expects_callback = 1
        GROUP BY model
        """

    package static let selectRelayQueue = "SELECT count(*), min(created_at) FROM relay_outbox WHERE state = 'pending'"
}

/// Pending relays, for `kiewatch_relay_queue_depth` and `kiewatch_relay_oldest_pending_seconds`.
package struct RelayQueue: Sendable, Equatable {
    package var depth: Int64
    /// When the oldest pending relay was queued; nil when none is pending.
    package var oldestCreatedAt: EpochMillis?
}
