import KieWatchCore

/// How many rows one retention pass deleted, per table.
package struct RetentionReport: Sendable, Equatable {
    package var deleted: [String: Int] = [:]
    package var total: Int { deleted.values.reduce(0, +) }
}

extension StoreWriter {
    /// What retention deletes, table by table. Each query deletes at most `?2` rows older
    /// than `?1`, picked through an index so a pass never scans. Pending relays and
    /// non-terminal tasks are never selected.
    static let retentionPlan: [(table: String, sql: String)] = [
        ("api_calls", "DELETE FROM api_calls WHERE id IN (SELECT id FROM api_calls WHERE ts < ?1 ORDER BY ts LIMIT ?2)"),
        ("webhooks", "DELETE FROM webhooks WHERE id IN (SELECT id FROM webhooks WHERE ts < ?1 ORDER BY ts LIMIT ?2)"),
        ("recoveries", "DELETE FROM recoveries WHERE id IN (SELECT id FROM recoveries WHERE ts < ?1 ORDER BY ts LIMIT ?2)"),
        ("relay_attempts",
         "DELETE FROM relay_attempts WHERE id IN (SELECT id FROM relay_attempts WHERE ts < ?1 ORDER BY ts LIMIT ?2)"),
        // Attempts of these rows go with them (ON DELETE CASCADE).
        ("relay_outbox", """
            DELETE FROM relay_outbox WHERE id IN (
                SELECT id FROM relay_outbox
                WHERE state IN ('delivered', 'gave_up') AND created_at < ?1 ORDER BY created_at LIMIT ?2)
            """),
        ("tasks", """
            DELETE FROM tasks WHERE task_id IN (
                SELECT task_id FROM tasks
                WHERE created_at < ?1 AND state IN ('success', 'fail') ORDER BY created_at LIMIT ?2)
            """),
        // A route's token only matters until the create's callbacks are in; a callback to a
        // pruned route is still matched by its task id when the task row is kept.
        ("callback_routes", """
            DELETE FROM callback_routes WHERE token IN (
                SELECT token FROM callback_routes WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)
            """),
        // The tasks each action touched go with it (ON DELETE CASCADE).
        ("actions", "DELETE FROM actions WHERE id IN (SELECT id FROM actions WHERE ts < ?1 ORDER BY ts LIMIT ?2)"),
        // Rollup rows cover whole minutes: only minutes that ended before the cutoff go.
        ("call_rollup", """
            DELETE FROM call_rollup WHERE (minute, endpoint, model, code) IN (
                SELECT minute, endpoint, model, code FROM call_rollup
                WHERE minute < ?1 / 60000 ORDER BY minute LIMIT ?2)
            """),
        ("task_rollup", """
            DELETE FROM task_rollup WHERE (minute, model) IN (
                SELECT minute, model FROM task_rollup WHERE minute < ?1 / 60000 ORDER BY minute LIMIT ?2)
            """),
        ("webhook_rollup", """
            DELETE FROM webhook_rollup WHERE (minute, model, result) IN (
                SELECT minute, model, result FROM webhook_rollup WHERE minute < ?1 / 60000 ORDER BY minute LIMIT ?2)
            """),
    ]

    /// Deletes rows older than `cutoff` from every time-series table, the rollups, finished
    /// relays, terminal tasks and callback routes, `batchSize` rows per write.
    ///
    /// Each batch is its own short `write` (one closure inside a group commit), so retention
    /// interleaves with live traffic instead of holding the write lock for a long delete.
    /// Never deletes pending relays or tasks that are not terminal.
    @discardableResult
    package func pruneOlderThan(_ cutoff: EpochMillis, batchSize: Int = 1_000) async throws -> RetentionReport {
        precondition(batchSize > 0, "batchSize must be positive")
        var report = RetentionReport()
        for (table, sql) in Self.retentionPlan {
            var total = 0
            while true {
                let deleted = try await write { context in
                    try context.execute(sql, [.integer(cutoff), .integer(Int64(batchSize))])
                }
                total += deleted
                if deleted < batchSize { break }
            }
            report.deleted[table] = total
        }
        return report
    }
}
