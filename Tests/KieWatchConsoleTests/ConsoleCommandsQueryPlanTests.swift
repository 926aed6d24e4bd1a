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
        (ConsoleSQL.selectCallsForTask, "SEARCH api_calls USING INDEX api_calls_task"),
        (ConsoleSQL.selectWebhooksForTask, "SEARCH webhooks USING INDEX webhooks_task"),
        (ConsoleSQL.selectWebhookRollup, "SEARCH webhook_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleSQL.selectCallErrors, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleSQL.selectLastFailure, "SEARCH api_calls USING INDEX api_calls_ts (ts>? AND ts<?)"),
        (ConsoleSQL.selectStaleSummary, "USING COVERING INDEX tasks_open_deadline_callback (deadline_at<?)"),
        (ConsoleSQL.selectCallCounts, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleSQL.selectCreateLatency, "SEARCH call_rollup USING PRIMARY KEY (minute>? AND minute<?)"),
        (ConsoleSQL.countGaveUpRelays, "USING COVERING INDEX relay_outbox_state_created (state=? AND created_at>?)"),
        (ConsoleSQL.selectIDRange(of: "api_calls"), "SEARCH api_calls"),
        (ConsoleSQL.selectTaskIDs, "SEARCH tasks USING PRIMARY KEY (task_id>? AND task_id<?)"),
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
        let detail = try plan(reader, TelemetrySQL.selectStalePerModel)
        #expect(detail.hasPrefix("SEARCH tasks USING INDEX tasks_open_deadline_callback (deadline_at<?)"), "\(detail)")
    }
}
