import KieWatchCore

/// A read-only view of the database on its own connection (`SQLITE_OPEN_READONLY` +
/// `query_only`): the agent's scheduler, `/metrics` gauges and the console each own one.
///
/// Not Sendable, like the connection under it: one serial owner. Opening one is cheap, so
/// open one per owner instead of sharing. In WAL mode readers never block the writer and see
/// every batch committed before their query starts.
package final class StoreReader {
    package let db: Database

    /// Opens `path` read-only. The file must be a kiewatch database at this build's schema
    /// version (`StoreError` `.notADatabase`, `.schemaTooNew`, `.schemaTooOld` otherwise).
    package init(path: String, configuration: StoreConfiguration = StoreConfiguration()) throws {
        db = try Database(path: path, mode: .readOnly, configuration: configuration)
        try Schema.verify(db)
    }

    package var path: String { db.path }

    // MARK: Tasks

    package func task(id: String) throws -> TaskRecord? {
        try RecordSQL.task(id: id, in: db)
    }

    /// Tasks that expect a callback, are not terminal and whose deadline is at or before
    /// `now`, oldest deadline first.
    package func staleTasks(now: EpochMillis, limit: Int = 1_000) throws -> [TaskRecord] {
        try RecordSQL.list(RecordSQL.selectStale, [.integer(now), .integer(Int64(limit))], in: db,
                           RecordSQL.task(from:))
    }

    /// Stale tasks whose next recovery poll is due, most overdue first (see `RecordSQL.selectRecoveryDue`).
    package func recoveryDue(now: EpochMillis, limit: Int = 100) throws -> [TaskRecord] {
        try RecordSQL.list(RecordSQL.selectRecoveryDue, [.integer(now), .integer(Int64(limit))], in: db,
                           RecordSQL.task(from:))
    }

    // MARK: Relay outbox

    /// Pending relays whose next attempt is due at or before `now`, most overdue first.
    package func dueRelays(now: EpochMillis, limit: Int = 1_000) throws -> [RelayOutboxItem] {
        try RecordSQL.list(RecordSQL.selectDueRelays, [.integer(now), .integer(Int64(limit))], in: db,
                           RecordSQL.outboxItem(from:))
    }

    package func relay(id: Int64) throws -> RelayOutboxItem? {
        try RecordSQL.list(RecordSQL.selectOutboxItem, [.integer(id)], in: db, RecordSQL.outboxItem(from:)).first
    }

    // MARK: Webhooks, meta

    /// Webhook deliveries for a task, oldest first (early callbacks are matched this way).
    package func webhooks(taskID: String) throws -> [WebhookRecord] {
        try RecordSQL.list(
            "SELECT \(RecordSQL.webhookColumns) FROM webhooks WHERE task_id = ?1 ORDER BY id",
            [.text(taskID)], in: db, RecordSQL.webhook(from:))
    }

    package func meta(_ key: String) throws -> String? {
        try RecordSQL.meta(key, in: db)
    }

    // MARK: Sizes

    /// Every table kiewatch owns, for `count(of:)` and the console's `status`.
    package static let tables = [
        "api_calls", "webhooks", "tasks", "recoveries", "relay_outbox", "relay_attempts", "meta",
        "call_rollup", "task_rollup",
    ]

    /// Number of rows in one of `StoreReader.tables`.
    package func count(of table: String) throws -> Int64 {
        guard Self.tables.contains(table) else {
            throw StoreError(kind: .refused, message: "unknown table \(table)")
        }
        return try db.rows("SELECT count(*) FROM \(table)").first?.first?.int64 ?? 0
    }

    /// Row counts of every table.
    package func rowCounts() throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for table in Self.tables { counts[table] = try count(of: table) }
        return counts
    }

    /// Bytes on disk: the database file plus its WAL (`kiewatch_store_bytes`).
    package var databaseBytes: Int64 {
        DatabaseFile.size(of: db.path) + DatabaseFile.size(of: db.path + "-wal")
    }

    // MARK: Rollups

    /// Call rollup totals over whole minutes `[fromMinute, toMinute)`, one entry per
    /// (endpoint, model, code), with merged latency buckets.
    package func callRollups(fromMinute: Int64, toMinute: Int64) throws -> [CallRollup] {
        let s = try db.cachedStatement("""
            SELECT endpoint, model, code, calls, errors, latency_sum_us, latency_max_us, buckets
            FROM call_rollup WHERE minute >= ?1 AND minute < ?2
            """)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var merged: [RollupAccumulator.CallKey: CallRollup] = [:]
        while try s.step() {
            let key = RollupAccumulator.CallKey(minute: 0, endpoint: s.string(at: 0), model: s.string(at: 1),
                                                code: s.string(at: 2))
            var entry = merged[key] ?? CallRollup(endpoint: key.endpoint, model: key.model, code: key.code)
            entry.calls += s.int64(at: 3)
            entry.errors += s.int64(at: 4)
            entry.latencySumMicros = entry.latencySumMicros.saturatingAdding(s.int64(at: 5))
            entry.latencyMaxMicros = max(entry.latencyMaxMicros, s.int64(at: 6))
            LatencyBuckets.accumulate(s.blob(at: 7), into: &entry.buckets)
            merged[key] = entry
        }
        return merged.values.sorted { ($0.model, $0.endpoint, $0.code) < ($1.model, $1.endpoint, $1.code) }
    }

    /// Task rollup totals over whole minutes `[fromMinute, toMinute)`, one entry per model.
    package func taskRollups(fromMinute: Int64, toMinute: Int64) throws -> [TaskRollup] {
        let s = try db.cachedStatement("""
            SELECT model, created, finished_success, finished_fail, missed, duration_sum_us, buckets
            FROM task_rollup WHERE minute >= ?1 AND minute < ?2
            """)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var merged: [String: TaskRollup] = [:]
        while try s.step() {
            let model = s.string(at: 0)
            var entry = merged[model] ?? TaskRollup(model: model)
            entry.created += s.int64(at: 1)
            entry.finishedSuccess += s.int64(at: 2)
            entry.finishedFail += s.int64(at: 3)
            entry.missed += s.int64(at: 4)
            entry.durationSumMicros = entry.durationSumMicros.saturatingAdding(s.int64(at: 5))
            LatencyBuckets.accumulate(s.blob(at: 6), into: &entry.buckets)
            merged[model] = entry
        }
        return merged.values.sorted { $0.model < $1.model }
    }
}

extension StoreReader {
    /// Every running total (`totals`): what the counters are restored from at start.
    package func runningTotals() throws -> [RunningTotal] {
        try RecordSQL.list(
            "SELECT counter, endpoint, model, code, result, value, first_at FROM totals ORDER BY 1, 2, 3, 4, 5", [],
            in: db
        ) { s in
            RunningTotal(
                counter: TotalCounter(rawValue: s.string(at: 0)), endpoint: s.string(at: 1), model: s.string(at: 2),
                code: s.string(at: 3), result: s.string(at: 4), value: s.double(at: 5), firstAt: s.int64(at: 6))
        }
    }
}

/// One running total: a counter's value for one label set since `firstAt`, kept through
/// retention. Dimensions a counter does not have are `""`; so is a missing model.
package struct RunningTotal: Sendable, Equatable {
    /// nil for a counter this build does not know (a newer build wrote it).
    package var counter: TotalCounter?
    package var endpoint: String
    package var model: String
    package var code: String
    package var result: String
    package var value: Double
    package var firstAt: EpochMillis
}

/// API calls for one (endpoint, model, code) over a window, from `call_rollup`.
package struct CallRollup: Sendable, Equatable {
    package var endpoint: String
    /// `""` for calls without a model (credit, upload, ...).
    package var model: String
    package var code: String
    package var calls: Int64 = 0
    package var errors: Int64 = 0
    package var latencySumMicros: Int64 = 0
    package var latencyMaxMicros: Int64 = 0
    /// Counts per `LatencyBuckets` bucket; feed to `LatencyBuckets.percentile`.
    package var buckets = [UInt64](repeating: 0, count: LatencyBuckets.count)
}

/// Task lifecycle counts for one model over a window, from `task_rollup`.
package struct TaskRollup: Sendable, Equatable {
    package var model: String
    package var created: Int64 = 0
    package var finishedSuccess: Int64 = 0
    package var finishedFail: Int64 = 0
    package var missed: Int64 = 0
    package var durationSumMicros: Int64 = 0
    /// Create-to-terminal durations per `LatencyBuckets` bucket.
    package var buckets = [UInt64](repeating: 0, count: LatencyBuckets.count)
}
