import KieWatchCore
import KieWatchStore

/// The store reads behind the console, each shaped so SQLite answers from an index or a
/// per-minute rollup, never by scanning the raw time series (the benchmark holds them to
/// `task ID` ≤ 5 ms, `models 24h` ≤ 200 ms, `stale` ≤ 50 ms, `errors 24h` ≤ 200 ms on
/// 10 million rows). `ConsoleQueryPlanTests` checks the plans with `EXPLAIN QUERY PLAN`.
///
/// Windows over rollups are whole minutes: `[minute(now - window), minute(now)]`, the
/// current (partial) minute included.
struct ConsoleQueries {
    let reader: StoreReader
    var db: Database { reader.db }

    /// The rollup minutes `[from, to)` covering the window ending at `now`.
    static func minutes(window: Int64, now: EpochMillis) -> (from: Int64, to: Int64) {
        (RollupAccumulator.minute(now - window), RollupAccumulator.minute(now) + 1)
    }

    // MARK: Rollups

    /// Webhook deliveries per model and result over whole minutes `[from, to)`.
    func webhookRollups(fromMinute: Int64, toMinute: Int64) throws -> [WebhookRollupRow] {
        let s = try db.cachedStatement(Self.selectWebhookRollup)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        struct WebhookKey: Hashable {
            var model: String
            var result: String
        }
        var merged: [WebhookKey: WebhookRollupRow] = [:]
        while try s.step() {
            let key = WebhookKey(model: s.string(at: 0), result: s.string(at: 1))
            let delays = s.int64(at: 3)
            // Mutated in place: one hash per row, no copy of the bucket array.
            merged[key, default: WebhookRollupRow(model: key.model, result: key.result)].add(
                deliveries: s.int64(at: 2), delays: delays, minute: s.int64(at: 5),
                buckets: delays > 0 ? s.blob(at: 4) : nil)
        }
        return merged.values.sorted { ($0.model, $0.result) < ($1.model, $1.result) }
    }

    static let selectWebhookRollup = """
        SELECT model, result, deliveries, delay_count, buckets, minute
        FROM webhook_rollup WHERE minute >= ?1 AND minute < ?2
        """

    /// Calls and failed calls per model over `[from, to)`, summed by SQLite (no buckets read).
    func callCounts(fromMinute: Int64, toMinute: Int64) throws -> [String: (calls: Int64, errors: Int64)] {
        let s = try db.cachedStatement(Self.selectCallCounts)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var counts: [String: (calls: Int64, errors: Int64)] = [:]
        while try s.step() { counts[s.string(at: 0)] = (s.int64(at: 1), s.int64(at: 2)) }
        return counts
    }

    static let selectCallCounts = """
        SELECT model, sum(calls), sum(errors) FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND model <> '' GROUP BY model
        """

    /// Create-call latency buckets per model over `[from, to)`: only the create endpoints'
    /// rows are decoded, a fraction of the rollup (status polls dominate it).
    func createLatency(fromMinute: Int64, toMinute: Int64) throws -> [String: [UInt64]] {
        let s = try db.cachedStatement(Self.selectCreateLatency)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var buckets: [String: [UInt64]] = [:]
        while try s.step() {
            let model = s.string(at: 0)
            LatencyBuckets.accumulate(s.blob(at: 1), into: &buckets[model, default: [UInt64](repeating: 0, count: LatencyBuckets.count)])
        }
        return buckets
    }

    static let selectCreateLatency = """
        SELECT model, buckets FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND endpoint IN ('create_task', 'veo_generate') AND model <> ''
        """

    /// Failed calls per (code, endpoint, model) over `[from, to)`, without reading the
    /// latency buckets: `errors` needs counts and the last minute only.
    func callErrors(fromMinute: Int64, toMinute: Int64) throws -> [CallErrorRow] {
        let s = try db.cachedStatement(Self.selectCallErrors)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var rows: [CallErrorRow] = []
        while try s.step() {
            rows.append(CallErrorRow(code: s.string(at: 0), endpoint: s.string(at: 1), model: s.string(at: 2),
                                     errors: s.int64(at: 3), lastMinute: s.int64(at: 4)))
        }
        return rows
    }

    static let selectCallErrors = """
        SELECT code, endpoint, model, sum(errors), max(minute) FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND errors > 0
        GROUP BY code, endpoint, model
        """

    /// The exact time of the last failed call with `code` inside one rollup minute (the
    /// rollup knows the minute; one minute of `api_calls_ts` knows the millisecond).
    func lastFailure(code: String, inMinute minute: Int64) throws -> EpochMillis? {
        let s = try db.cachedStatement(Self.selectLastFailure)
        defer { s.reset() }
        try s.bind(minute * 60_000, at: 1)
        try s.bind(minute * 60_000 + 60_000, at: 2)
        try s.bind(code, at: 3)
        guard try s.step(), !s.isNull(at: 0) else { return nil }
        return s.int64(at: 0)
    }

    /// The `code` label of a row, as `CallOutcome.codeLabel` computes it.
    static let codeLabelSQL = """
        CASE outcome WHEN 'error' THEN 'error' WHEN 'timeout' THEN 'timeout'
                     ELSE CAST(coalesce(body_code, http_status) AS TEXT) END
        """

    static let selectLastFailure = """
        SELECT max(ts) FROM api_calls
        WHERE ts >= ?1 AND ts < ?2 AND outcome <> 'ok' AND \(codeLabelSQL) = ?3
        """

    // MARK: Counts for status

    /// Non-terminal tasks (counted on `tasks_open_deadline_callback`, which holds only them).
    func inFlightCount() throws -> Int64 {
        try scalar("SELECT count(*) FROM tasks WHERE state NOT IN ('success', 'fail')") ?? 0
    }

    /// Stale tasks and the earliest passed deadline (`tasks_open_deadline_callback`).
    func staleSummary(now: EpochMillis) throws -> (count: Int64, oldestDeadline: EpochMillis?) {
        let rows = try db.rows(Self.selectStaleSummary, [.integer(now)])
        return (rows.first?[0].int64 ?? 0, rows.first?[1].int64)
    }

    static let selectStaleSummary = """
        SELECT count(*), min(deadline_at) FROM tasks
        WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND expects_callback = 1
        """

    /// Pending relays and the oldest one's creation time (`relay_outbox_state_created`).
    func relayBacklog() throws -> (count: Int64, oldest: EpochMillis?, nextAttempt: EpochMillis?) {
        let rows = try db.rows("""
            SELECT count(*), min(created_at), min(next_attempt_at) FROM relay_outbox WHERE state = 'pending'
            """)
        return (rows.first?[0].int64 ?? 0, rows.first?[1].int64, rows.first?[2].int64)
    }

    /// Rows of a table: exact for small tables; past 100,000 rows an estimate, because a
    /// count(*) reads a whole index (over a second on a 10-million-row store). Rowid tables:
    /// the id range (ids only grow and retention removes the oldest, so it is the count up to
    /// rolled-back gaps); `tasks`: the creations the task rollup has counted.
    func rowCount(_ table: String) throws -> (count: Int64, estimated: Bool) {
        let threshold: Int64 = 100_000
        if table == "tasks" {
            let created = try scalar("SELECT sum(created) FROM task_rollup") ?? 0
            if created >= threshold { return (created, true) }
        } else if table != "relay_outbox" {
            let range = try db.rows("SELECT (SELECT min(id) FROM \(table)), (SELECT max(id) FROM \(table))").first
            if let low = range?[0].int64, let high = range?[1].int64, high - low >= threshold {
                return (high - low + 1, true)
            }
        }
        return (try scalar("SELECT count(*) FROM \(table)") ?? 0, false)
    }

    /// Newest timestamp of a time-series table (its `ts` index: one step).
    func lastTimestamp(_ table: String) throws -> EpochMillis? {
        try scalar("SELECT max(ts) FROM \(table)")
    }

    /// A meta value and when it was written.
    func meta(_ key: String) throws -> (value: String, updatedAt: EpochMillis)? {
        let rows = try db.rows("SELECT value, updated_at FROM meta WHERE key = ?1", [.text(key)])
        guard let row = rows.first, let value = row[0].string, let at = row[1].int64 else { return nil }
        return (value, at)
    }

    func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int64? {
        try db.rows(sql, arguments).first?.first?.int64
    }

    // MARK: One task

    func calls(taskID: String) throws -> [APICallRow] {
        try list(Self.selectCallsForTask, [.text(taskID)], APICallRow.init)
    }

    static let callColumns = """
        id, ts, endpoint, model, task_id, method, path, http_status, body_code, latency_us, outcome, error
        """

    static let selectCallsForTask = "SELECT \(callColumns) FROM api_calls WHERE task_id = ?1 ORDER BY ts, id"

    func recoveries(taskID: String) throws -> [RecoveryRecord] {
        try list("SELECT id, ts, task_id, model, result, detail FROM recoveries WHERE task_id = ?1 ORDER BY ts, id",
                 [.text(taskID)]) { s in
            RecoveryRecord(id: s.int64(at: 0), ts: s.int64(at: 1), taskID: s.string(at: 2),
                           model: s.optionalString(at: 3),
                           result: RecoveryResult(rawValue: s.string(at: 4)) ?? .error, detail: s.optionalString(at: 5))
        }
    }

    func relays(taskID: String) throws -> [RelayRow] {
        try list("SELECT \(Self.relayColumns) FROM relay_outbox WHERE task_id = ?1 ORDER BY created_at, id",
                 [.text(taskID)], RelayRow.init)
    }

    static let relayColumns = """
        id, task_id, url, synthesized, created_at, next_attempt_at, attempts, state, last_status, last_error, delivered_at
        """

    func attempts(outboxID: Int64) throws -> [RelayAttemptRecord] {
        try list("""
            SELECT id, outbox_id, ts, http_status, error, duration_us FROM relay_attempts
            WHERE outbox_id = ?1 ORDER BY ts, id
            """, [.integer(outboxID)]) { s in
            RelayAttemptRecord(id: s.int64(at: 0), outboxID: s.int64(at: 1), ts: s.int64(at: 2),
                               httpStatus: s.optionalInt(at: 3), error: s.optionalString(at: 4),
                               durationMicros: s.int64(at: 5))
        }
    }

    /// Webhook deliveries of a task without their bodies (the timeline needs the facts only).
    func webhooks(taskID: String) throws -> [WebhookRow] {
        try list("SELECT \(Self.webhookColumns) FROM webhooks WHERE task_id = ?1 ORDER BY ts, id",
                 [.text(taskID)], WebhookRow.init)
    }

    static let webhookColumns = "id, ts, family, task_id, model, state, auth, result, delay_ms"

    // MARK: Lists

    /// Tasks created since `since`, newest first, optionally by model and state
    /// (`tasks_model_created` / `tasks_created`).
    func tasks(since: EpochMillis, model: String?, states: [String]?, limit: Int) throws -> [TaskRecord] {
        var sql = "SELECT \(Self.taskColumns) FROM tasks WHERE created_at >= ?1"
        var arguments: [SQLValue] = [.integer(since)]
        if let model {
            arguments.append(.text(model))
            sql += " AND model = ?\(arguments.count)"
        }
        if let states {
            let placeholders = states.map { state -> String in
                arguments.append(.text(state))
                return "?\(arguments.count)"
            }
            sql += " AND state IN (\(placeholders.joined(separator: ", ")))"
        }
        arguments.append(.integer(Int64(limit)))
        sql += " ORDER BY created_at DESC LIMIT ?\(arguments.count)"
        return try list(sql, arguments, Self.task(from:))
    }

    /// Stale tasks, oldest deadline first (`tasks_open_deadline_callback`).
    func staleTasks(now: EpochMillis, limit: Int) throws -> [TaskRecord] {
        try reader.staleTasks(now: now, limit: limit)
    }

    /// Tasks whose webhook was missed and that recovery found since `since`, newest first
    /// (`recoveries_ts`, then one task lookup each).
    func missedTasks(since: EpochMillis, limit: Int) throws -> [(recoveredAt: EpochMillis, task: TaskRecord)] {
        let columns = Self.taskColumns.split(separator: ",").map { "t." + $0.filter { !$0.isWhitespace } }.joined(separator: ", ")
        return try list("""
            SELECT r.ts, \(columns) FROM recoveries r JOIN tasks t ON t.task_id = r.task_id
            WHERE r.ts >= ?1 AND r.result = 'recovered' AND t.missed = 1
            ORDER BY r.ts DESC LIMIT ?2
            """, [.integer(since), .integer(Int64(limit))]) { s in
            (s.int64(at: 0), Self.task(from: s, offset: 1))
        }
    }

    func calls(since: EpochMillis, model: String?, endpoint: String?, code: String?, limit: Int) throws -> [APICallRow] {
        var query = FilteredSelect("SELECT \(Self.callColumns) FROM api_calls WHERE ts >= ?1", since: since)
        query.and("model", model)
        query.and("endpoint", endpoint)
        query.and(Self.codeLabelSQL, code)
        return try list(query.newestFirst(limit: limit), query.arguments, APICallRow.init)
    }

    func webhooks(since: EpochMillis, model: String?, result: String?, limit: Int) throws -> [WebhookRow] {
        var query = FilteredSelect("SELECT \(Self.webhookColumns) FROM webhooks WHERE ts >= ?1", since: since)
        query.and("model", model)
        query.and("result", result)
        return try list(query.newestFirst(limit: limit), query.arguments, WebhookRow.init)
    }

    /// Pending relays, next attempt first (`relay_outbox_due`).
    func pendingRelays(limit: Int) throws -> [RelayRow] {
        try list("""
            SELECT \(Self.relayColumns) FROM relay_outbox WHERE state = 'pending'
            ORDER BY next_attempt_at LIMIT ?1
            """, [.integer(Int64(limit))], RelayRow.init)
    }

    /// Relays given up since `since`, newest first (`relay_outbox_state_created`).
    func gaveUpRelays(since: EpochMillis, limit: Int) throws -> (count: Int64, rows: [RelayRow]) {
        let count = try scalar(
            "SELECT count(*) FROM relay_outbox WHERE state = 'gave_up' AND created_at >= ?1", [.integer(since)]) ?? 0
        let rows = try list("""
            SELECT \(Self.relayColumns) FROM relay_outbox WHERE state = 'gave_up' AND created_at >= ?1
            ORDER BY created_at DESC LIMIT ?2
            """, [.integer(since), .integer(Int64(limit))], RelayRow.init)
        return (count, rows)
    }

    /// Tasks finished and credits they consumed per model over `[from, to)` (`task_rollup`).
    func creditsConsumed(fromMinute: Int64, toMinute: Int64) throws -> [(model: String, tasks: Int64, credits: Double)] {
        try list("""
            SELECT model, sum(finished_success + finished_fail), total(credits) FROM task_rollup
            WHERE minute >= ?1 AND minute < ?2 GROUP BY model HAVING sum(finished_success + finished_fail) > 0
            ORDER BY model
            """, [.integer(fromMinute), .integer(toMinute)]) { s in (s.string(at: 0), s.int64(at: 1), s.double(at: 2)) }
    }

    /// Task ids starting with `prefix` (primary key range), for Tab completion.
    func taskIDs(prefix: String, limit: Int) throws -> [String] {
        try list("SELECT task_id FROM tasks WHERE task_id >= ?1 AND task_id < ?2 ORDER BY task_id LIMIT ?3",
                 [.text(prefix), .text(prefix + "\u{10FFFF}"), .integer(Int64(limit))]) { $0.string(at: 0) }
    }

    // MARK: Decoding

    static let taskColumns = RecordSQL.taskColumns

    static func task(from s: Statement) -> TaskRecord { RecordSQL.task(from: s) }

    static func task(from s: Statement, offset o: Int32) -> TaskRecord { RecordSQL.task(from: s, offset: o) }

    private func list<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Statement) -> T) throws -> [T] {
        try RecordSQL.list(sql, arguments, in: db, decode)
    }

}

// MARK: Rows

/// An API call as the console lists it (no byte counts).
struct APICallRow {
    var id: Int64
    var ts: EpochMillis
    var endpoint: String
    var model: String?
    var taskID: String?
    var method: String
    var path: String
    var httpStatus: Int
    var bodyCode: Int?
    var latencyMicros: Int64
    var outcome: String
    var error: String?

    init(_ s: Statement) {
        id = s.int64(at: 0)
        ts = s.int64(at: 1)
        endpoint = s.string(at: 2)
        model = s.optionalString(at: 3)
        taskID = s.optionalString(at: 4)
        method = s.string(at: 5)
        path = URLRedaction.redact(s.string(at: 6))
        httpStatus = s.int(at: 7)
        bodyCode = s.optionalInt(at: 8)
        latencyMicros = s.int64(at: 9)
        outcome = s.string(at: 10)
        error = s.optionalString(at: 11)
    }

    var codeLabel: String {
        CallOutcome.codeLabel(outcome: CallOutcome(rawValue: outcome) ?? .error, httpStatus: httpStatus,
                              bodyCode: bodyCode)
    }
}

/// A webhook delivery without its body.
struct WebhookRow {
    var id: Int64
    var ts: EpochMillis
    var family: String
    var taskID: String?
    var model: String?
    var state: String?
    var auth: String
    var result: String
    var delayMillis: Int64?

    init(_ s: Statement) {
        id = s.int64(at: 0)
        ts = s.int64(at: 1)
        family = s.string(at: 2)
        taskID = s.optionalString(at: 3)
        model = s.optionalString(at: 4)
        state = s.optionalString(at: 5)
        auth = s.string(at: 6)
        result = s.string(at: 7)
        delayMillis = s.optionalInt64(at: 8)
    }
}

/// A relay outbox item as the console shows it: the URL already redacted, no body.
struct RelayRow {
    var id: Int64
    var taskID: String
    var redactedURL: String
    var synthesized: Bool
    var createdAt: EpochMillis
    var nextAttemptAt: EpochMillis
    var attempts: Int
    var state: String
    var lastStatus: Int?
    var lastError: String?
    var deliveredAt: EpochMillis?

    init(_ s: Statement) {
        id = s.int64(at: 0)
        taskID = s.string(at: 1)
        redactedURL = URLRedaction.redact(s.string(at: 2))
        synthesized = s.int64(at: 3) != 0
        createdAt = s.int64(at: 4)
        nextAttemptAt = s.int64(at: 5)
        attempts = s.int(at: 6)
        state = s.string(at: 7)
        lastStatus = s.optionalInt(at: 8)
        lastError = s.optionalString(at: 9)
        deliveredAt = s.optionalInt64(at: 10)
    }
}

struct WebhookRollupRow {
    var model: String
    var result: String
    var deliveries: Int64 = 0
    var delayCount: Int64 = 0
    var lastMinute: Int64 = .min
    var delayBuckets = [UInt64](repeating: 0, count: LatencyBuckets.count)

    /// Adds one minute's rollup row.
    mutating func add(deliveries: Int64, delays: Int64, minute: Int64, buckets: [UInt8]?) {
        self.deliveries += deliveries
        delayCount += delays
        lastMinute = max(lastMinute, minute)
        if let buckets { LatencyBuckets.accumulate(buckets, into: &delayBuckets) }
    }
}

struct CallErrorRow {
    var code: String
    var endpoint: String
    var model: String
    var errors: Int64
    var lastMinute: Int64
}

/// A `SELECT ... WHERE ts >= ?1` with optional `AND column = ?` filters, numbered as added.
struct FilteredSelect {
    private(set) var sql: String
    private(set) var arguments: [SQLValue]

    init(_ base: String, since: EpochMillis) {
        sql = base
        arguments = [.integer(since)]
    }

    /// Adds `AND <expression> = ?N` when `value` is given.
    mutating func and(_ expression: String, _ value: String?) {
        guard let value else { return }
        arguments.append(.text(value))
        sql += " AND \(expression) = ?\(arguments.count)"
    }

    /// The statement, newest rows first, at most `limit` of them.
    mutating func newestFirst(limit: Int) -> String {
        arguments.append(.integer(Int64(limit)))
        return sql + " ORDER BY ts DESC, id DESC LIMIT ?\(arguments.count)"
    }
}
