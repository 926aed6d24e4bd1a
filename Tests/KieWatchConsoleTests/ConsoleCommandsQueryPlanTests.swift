import KieWatchCore
import KieWatchStore
import Testing

@testable import KieWatchAgent

/// The console's hot queries must be answered from an index or a rollup's primary key:
/// on 10 million rows a scan is the difference between milliseconds and seconds. The
/// benchmark measures the speed; this pins the plans.
struct ConsoleCommandsQueryPlanTests {
    private func plan(_ reader: StoreReader, _ sql: String) throws -> String {
        try reader.db.rows("EXPLAIN QUERY PLAN " + sql).compactMap { $0.last?.string }.joined(separator: " | ")
    }

    @Test(arguments: [
        (ConsoleQueries.selectCallsForTask, "SEARCH api_calls USING INDEX api_calls_task"),
        ("SELECT \(ConsoleQueries.webhookColumns) FROM webhooks WHERE task_id = ?1 ORDER BY ts, id",
         "SEARCH webhooks USING INDEX webhooks_task"),
        (ConsoleQueries.selectWebhookRollup, "SEARCH webhook_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleQueries.selectCallErrors, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleQueries.selectLastFailure, "SEARCH api_calls USING INDEX api_calls_ts (ts>? AND ts<?)"),
        (ConsoleQueries.selectStaleSummary, "USING COVERING INDEX tasks_open_deadline_callback (deadline_at<?)"),
        (ConsoleQueries.selectCallCounts, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleQueries.selectCreateLatency, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        ("SELECT count(*) FROM relay_outbox WHERE state = 'gave_up' AND created_at >= ?1",
         "USING COVERING INDEX relay_outbox_state_created (state=? AND created_at>?)"),
        ("SELECT (SELECT min(id) FROM api_calls), (SELECT max(id) FROM api_calls)", "SEARCH api_calls"),
        ("SELECT task_id FROM tasks WHERE task_id >= ?1 AND task_id < ?2 ORDER BY task_id LIMIT ?3",
         "SEARCH tasks USING PRIMARY KEY (task_id>? AND task_id<?)"),
    ])
    func usesAnIndex(sql: String, expected: String) async throws {
        let fixture = try await ConsoleFixture.make()
        let reader = try StoreReader(path: fixture.path)
        let detail = try plan(reader, sql)
        #expect(detail.contains(expected), "\(detail)")
        #expect(!detail.contains("SCAN api_calls") && !detail.contains("SCAN webhooks") && !detail.contains("SCAN tasks"))
    }

    /// The gauge refresh runs every 2 s: stale tasks per model come from a range of the
    /// open-deadline index (only the stale ones are visited), never a walk of the tasks.
    @Test func staleGaugeVisitsOnlyStaleTasks() async throws {
        let fixture = try await ConsoleFixture.make()
        let reader = try StoreReader(path: fixture.path)
        let detail = try plan(reader, GaugeRefresher.selectStalePerModel)
        #expect(detail.hasPrefix("SEARCH tasks USING INDEX tasks_open_deadline_callback (deadline_at<?)"), "\(detail)")
    }
}
