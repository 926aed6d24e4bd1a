import KieWatchCore

/// The reads behind the console's commands, each shaped so SQLite answers from an index or a
/// per-minute rollup, never by scanning the raw time series (the benchmark holds them to
/// `task ID` ≤ 5 ms, `models 24h` ≤ 200 ms, `stale` ≤ 50 ms, `errors 24h` ≤ 200 ms on
/// 10 million rows). `ConsoleCommandsQueryPlanTests` checks the plans with `EXPLAIN QUERY PLAN`.
///
/// Windows over rollups are whole minutes: `[minute(now - window), minute(now)]`, the
/// current (partial) minute included (`rollupMinutes(window:now:)`).
extension StoreReader {
    /// The rollup minutes `[from, to)` covering the window ending at `now`.
    package static func rollupMinutes(window: Int64, now: EpochMillis) -> (from: Int64, to: Int64) {
        (RollupAccumulator.minute(now - window), RollupAccumulator.minute(now) + 1)
    }

    // MARK: Rollups

    /// Webhook deliveries per model and result over whole minutes `[from, to)`.
    package func webhookRollups(fromMinute: Int64, toMinute: Int64) throws -> [WebhookRollupRow] {
        let s = try db.cachedStatement(ConsoleSQL.selectWebhookRollup)
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

    /// Calls and failed calls per model over `[from, to)`, summed by SQLite (no buckets read).
    package func callCounts(fromMinute: Int64, toMinute: Int64) throws -> [String: ModelCallCounts] {
        let s = try db.cachedStatement(ConsoleSQL.selectCallCounts)
        defer { s.reset() }
        try s.bind(fromMinute, at: 1)
        try s.bind(toMinute, at: 2)
        var counts: [String: ModelCallCounts] = [:]
        while try s.step() { counts[s.string(at: 0)] = ModelCallCounts(calls: s.int64(at: 1), errors: s.int64(at: 2)) }
        return counts
    }

    /// Create-call latency buckets per model over `[from, to)`: only the create endpoints'
    /// rows are decoded, a fraction of the rollup (status polls dominate it).
    package func createLatency(fromMinute: Int64, toMinute: Int64) throws -> [String: [UInt64]] {
        let s = try db.cachedStatement(ConsoleSQL.selectCreateLatency)
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

    /// Failed calls per (code, endpoint, model) over `[from, to)`, without reading the
    /// latency buckets: `errors` needs counts and the last minute only.
    package func callErrors(fromMinute: Int64, toMinute: Int64) throws -> [CallErrorRow] {
        try list(ConsoleSQL.selectCallErrors, [.integer(fromMinute), .integer(toMinute)]) { s in
            CallErrorRow(code: s.string(at: 0), endpoint: s.string(at: 1), model: s.string(at: 2),
                         errors: s.int64(at: 3), lastMinute: s.int64(at: 4))
        }
    }

    /// The exact time of the last failed call with `code` inside one rollup minute (the
    /// rollup knows the minute; one minute of `api_calls_ts` knows the millisecond).
    package func lastFailure(code: String, inMinute minute: Int64) throws -> EpochMillis? {
        let s = try db.cachedStatement(ConsoleSQL.selectLastFailure)
        defer { s.reset() }
        try s.bind(minute * 60_000, at: 1)
        try s.bind(minute * 60_000 + 60_000, at: 2)
        try s.bind(code, at: 3)
        guard try s.step(), !s.isNull(at: 0) else { return nil }
        return s.int64(at: 0)
    }

    // MARK: Counts for status

    /// Non-terminal tasks (counted on `tasks_open_deadline_callback`, which holds only them).
    package func inFlightCount() throws -> Int64 {
        try scalar(ConsoleSQL.countInFlight) ?? 0
    }

    /// Stale tasks and the earliest passed deadline (`tasks_open_deadline_callback`).
    package func staleSummary(now: EpochMillis) throws -> StaleSummary {
        let rows = try db.rows(ConsoleSQL.selectStaleSummary, [.integer(now)])
        return StaleSummary(count: rows.first?[0].int64 ?? 0, oldestDeadline: rows.first?[1].int64)
    }

    /// Pending relays and the oldest one's creation time (`relay_outbox_state_created`).
    package func relayBacklog() throws -> RelayBacklog {
        let rows = try db.rows(ConsoleSQL.selectRelayBacklog)
        return RelayBacklog(count: rows.first?[0].int64 ?? 0, oldest: rows.first?[1].int64,
                            nextAttempt: rows.first?[2].int64)
    }

    /// Rows of one of `StoreReader.tables`: exact for small tables; past 100,000 rows an
    /// estimate, because a count(*) reads a whole index (over a second on a 10-million-row
    /// store). Rowid tables: the id range (ids only grow and retention removes the oldest, so
    /// it is the count up to rolled-back gaps); `tasks`: the creations the task rollup has counted.
    package func estimatedCount(of table: String) throws -> TableCount {
        guard Self.tables.contains(table) else {
            throw StoreError(kind: .refused, message: "unknown table \(table)")
        }
        let threshold: Int64 = 100_000
        if table == "tasks" {
            let created = try scalar(ConsoleSQL.sumCreatedTasks) ?? 0
            if created >= threshold { return TableCount(count: created, estimated: true) }
        } else if table != "relay_outbox" {
            let range = try db.rows(ConsoleSQL.selectIDRange(of: table)).first
            if let low = range?[0].int64, let high = range?[1].int64, high - low >= threshold {
                return TableCount(count: high - low + 1, estimated: true)
            }
        }
        return TableCount(count: try scalar(ConsoleSQL.countRows(of: table)) ?? 0, estimated: false)
    }

    /// When the newest API call was recorded (the `ts` index: one step).
    package func lastCallAt() throws -> EpochMillis? {
        try scalar(ConsoleSQL.selectLastCallAt)
    }

    /// When the newest webhook delivery was recorded (the `ts` index: one step).
    package func lastWebhookAt() throws -> EpochMillis? {
        try scalar(ConsoleSQL.selectLastWebhookAt)
    }

    /// A meta value and when it was written.
    package func metaEntry(_ key: String) throws -> MetaEntry? {
        let rows = try db.rows(ConsoleSQL.selectMetaEntry, [.text(key)])
        guard let row = rows.first, let value = row[0].string, let at = row[1].int64 else { return nil }
        return MetaEntry(value: value, updatedAt: at)
    }

    // MARK: One task

    /// API calls carrying a task's id, oldest first (`api_calls_task`).
    package func calls(taskID: String) throws -> [APICallRecord] {
        try list(ConsoleSQL.selectCallsForTask, [.text(taskID)], APICallRecord.init(consoleRow:))
    }

    package func recoveries(taskID: String) throws -> [RecoveryRecord] {
        try list(ConsoleSQL.selectRecoveriesForTask, [.text(taskID)]) { s in
            RecoveryRecord(id: s.int64(at: 0), ts: s.int64(at: 1), taskID: s.string(at: 2),
                           model: s.optionalString(at: 3),
                           result: RecoveryResult(rawValue: s.string(at: 4)) ?? .error, detail: s.optionalString(at: 5))
        }
    }

    package func relays(taskID: String) throws -> [RelayRow] {
        try list(ConsoleSQL.selectRelaysForTask, [.text(taskID)], RelayRow.init(row:))
    }

    package func relayAttempts(outboxID: Int64) throws -> [RelayAttemptRecord] {
        try list(ConsoleSQL.selectAttemptsForRelay, [.integer(outboxID)]) { s in
            RelayAttemptRecord(id: s.int64(at: 0), outboxID: s.int64(at: 1), ts: s.int64(at: 2),
                               httpStatus: s.optionalInt(at: 3), error: s.optionalString(at: 4),
                               durationMicros: s.int64(at: 5))
        }
    }

    /// Webhook deliveries of a task without their bodies (the timeline needs the facts only).
    package func webhookRows(taskID: String) throws -> [WebhookRow] {
        try list(ConsoleSQL.selectWebhooksForTask, [.text(taskID)], WebhookRow.init(row:))
    }

    // MARK: Lists

    /// Tasks created since `since`, newest first, optionally by model and state
    /// (`tasks_model_created` / `tasks_created`).
    package func tasks(since: EpochMillis, model: String?, states: [String]?, limit: Int) throws -> [TaskRecord] {
        var sql = "SELECT \(RecordSQL.taskColumns) FROM tasks WHERE created_at >= ?1"
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
        return try list(sql, arguments, RecordSQL.task(from:))
    }

    /// Tasks whose webhook was missed and that recovery found since `since`, newest first
    /// (`recoveries_ts`, then one task lookup each).
    package func missedTasks(since: EpochMillis, limit: Int) throws -> [MissedTask] {
        try list(ConsoleSQL.selectMissedTasks, [.integer(since), .integer(Int64(limit))]) { s in
            MissedTask(recoveredAt: s.int64(at: 0), task: RecordSQL.task(from: s, offset: 1))
        }
    }

    /// API calls since `since`, newest first, optionally by model, endpoint and code label.
    package func calls(since: EpochMillis, model: String?, endpoint: String?, code: String?, limit: Int) throws
        -> [APICallRecord]
    {
        var query = FilteredSelect("SELECT \(ConsoleSQL.callColumns) FROM api_calls WHERE ts >= ?1", since: since)
        query.and("model", model)
        query.and("endpoint", endpoint)
        query.and(ConsoleSQL.codeLabel, code)
        return try list(query.newestFirst(limit: limit), query.arguments, APICallRecord.init(consoleRow:))
    }

    /// Webhook deliveries since `since` without their bodies, newest first, optionally by
    /// model and result.
    package func webhookRows(since: EpochMillis, model: String?, result: String?, limit: Int) throws -> [WebhookRow] {
        var query = FilteredSelect("SELECT \(ConsoleSQL.webhookColumns) FROM webhooks WHERE ts >= ?1", since: since)
        query.and("model", model)
        query.and("result", result)
        return try list(query.newestFirst(limit: limit), query.arguments, WebhookRow.init(row:))
    }

    /// Pending relays, next attempt first (`relay_outbox_due`).
    package func pendingRelays(limit: Int) throws -> [RelayRow] {
        try list(ConsoleSQL.selectPendingRelays, [.integer(Int64(limit))], RelayRow.init(row:))
    }

    /// Relays given up since `since`, newest first (`relay_outbox_state_created`).
    package func gaveUpRelays(since: EpochMillis, limit: Int) throws -> GaveUpRelays {
        let count = try scalar(ConsoleSQL.countGaveUpRelays, [.integer(since)]) ?? 0
        let rows = try list(ConsoleSQL.selectGaveUpRelays, [.integer(since), .integer(Int64(limit))], RelayRow.init(row:))
        return GaveUpRelays(count: count, rows: rows)
    }

    /// Tasks finished and credits they consumed per model over `[from, to)` (`task_rollup`).
    package func creditsConsumed(fromMinute: Int64, toMinute: Int64) throws -> [ModelCredits] {
        try list(ConsoleSQL.selectCreditsConsumed, [.integer(fromMinute), .integer(toMinute)]) { s in
            ModelCredits(model: s.string(at: 0), tasks: s.int64(at: 1), credits: s.double(at: 2))
        }
    }

    /// Task ids starting with `prefix` (primary key range), for Tab completion.
    package func taskIDs(prefix: String, limit: Int) throws -> [String] {
        try list(ConsoleSQL.selectTaskIDs, [.text(prefix), .text(prefix + "\u{10FFFF}"), .integer(Int64(limit))]) {
            $0.string(at: 0)
        }
    }

    // MARK: Helpers

    private func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int64? {
        try db.rows(sql, arguments).first?.first?.int64
    }

    private func list<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Statement) -> T) throws -> [T] {
        try RecordSQL.list(sql, arguments, in: db, decode)
    }
}

/// The console's SQL, one constant per statement so the query-plan tests check the text the
/// console runs.
package enum ConsoleSQL {
    package static let selectWebhookRollup = """
        SELECT model, result, deliveries, delay_count, buckets, minute
        FROM webhook_rollup WHERE minute >= ?1 AND minute < ?2
        """

    package static let selectCallCounts = """
        SELECT model, sum(calls), sum(errors) FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND model <> '' GROUP BY model
        """

    /// Create calls of every family: the table's create labels (constants, not input).
    package static let selectCreateLatency = """
        SELECT model, buckets FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND endpoint IN (\(createLabels)) AND model <> ''
        """

    static let createLabels = KieEndpoint.allCases.filter(\.createsTask).map { "'\($0.rawValue)'" }.joined(separator: ", ")

    package static let selectCallErrors = """
        SELECT code, endpoint, model, sum(errors), max(minute) FROM call_rollup
        WHERE minute >= ?1 AND minute < ?2 AND errors > 0
        GROUP BY code, endpoint, model
        """

    /// The `code` label of a row, as `CallOutcome.codeLabel` computes it.
    package static let codeLabel = """
        CASE outcome WHEN 'error' THEN 'error' WHEN 'timeout' THEN 'timeout'
                     ELSE CAST(coalesce(body_code, http_status) AS TEXT) END
        """

    package static let selectLastFailure = """
        SELECT max(ts) FROM api_calls
        WHERE ts >= ?1 AND ts < ?2 AND outcome <> 'ok' AND \(codeLabel) = ?3
        """

    package static let countInFlight = "SELECT count(*) FROM tasks WHERE state NOT IN ('success', 'fail')"

    package static let selectStaleSummary = """
        SELECT count(*), min(deadline_at) FROM tasks
        WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND expects_callback = 1
        """

    package static let selectRelayBacklog = """
        SELECT count(*), min(created_at), min(next_attempt_at) FROM relay_outbox WHERE state = 'pending'
        """

    package static let sumCreatedTasks = "SELECT sum(created) FROM task_rollup"

    /// `table` is one of `StoreReader.tables` (checked by the caller).
    package static func selectIDRange(of table: String) -> String {
        "SELECT (SELECT min(id) FROM \(table)), (SELECT max(id) FROM \(table))"
    }

    package static func countRows(of table: String) -> String { "SELECT count(*) FROM \(table)" }

    package static let selectLastCallAt = "SELECT max(ts) FROM api_calls"

    package static let selectLastWebhookAt = "SELECT max(ts) FROM webhooks"

    package static let selectMetaEntry = "SELECT value, updated_at FROM meta WHERE key = ?1"

    package static let callColumns = """
        id, ts, endpoint, model, task_id, method, path, http_status, body_code, latency_us, outcome, error
        """

    package static let selectCallsForTask = "SELECT \(callColumns) FROM api_calls WHERE task_id = ?1 ORDER BY ts, id"

    package static let selectRecoveriesForTask =
        "SELECT id, ts, task_id, model, result, detail FROM recoveries WHERE task_id = ?1 ORDER BY ts, id"

    package static let relayColumns = """
        id, task_id, url, synthesized, created_at, next_attempt_at, attempts, state, last_status, last_error, delivered_at
        """

    package static let selectRelaysForTask =
        "SELECT \(relayColumns) FROM relay_outbox WHERE task_id = ?1 ORDER BY created_at, id"

    package static let selectAttemptsForRelay = """
        SELECT id, outbox_id, ts, http_status, error, duration_us FROM relay_attempts
        WHERE outbox_id = ?1 ORDER BY ts, id
        """

    package static let webhookColumns = "id, ts, family, task_id, model, state, auth, result, delay_ms"

    package static let selectWebhooksForTask = "SELECT \(webhookColumns) FROM webhooks WHERE task_id = ?1 ORDER BY ts, id"

    /// `taskColumns`, each prefixed with the `t.` of the join below.
    package static let joinedTaskColumns = RecordSQL.taskColumns.split(separator: ",")
        .map { "t." + $0.filter { !$0.isWhitespace } }.joined(separator: ", ")

    package static let selectMissedTasks = """
        SELECT r.ts, \(joinedTaskColumns) FROM recoveries r JOIN tasks t ON t.task_id = r.task_id
        WHERE r.ts >= ?1 AND r.result = 'recovered' AND t.missed = 1
        ORDER BY r.ts DESC LIMIT ?2
        """

    package static let selectPendingRelays = """
        SELECT \(relayColumns) FROM relay_outbox WHERE state = 'pending'
        ORDER BY next_attempt_at LIMIT ?1
        """

    package static let countGaveUpRelays = "SELECT count(*) FROM relay_outbox WHERE state = 'gave_up' AND created_at >= ?1"

    package static let selectGaveUpRelays = """
        SELECT \(relayColumns) FROM relay_outbox WHERE state = 'gave_up' AND created_at >= ?1
        ORDER BY created_at DESC LIMIT ?2
        """

    package static let selectCreditsConsumed = """
        SELECT model, sum(finished_success + finished_fail), total(credits) FROM task_rollup
        WHERE minute >= ?1 AND minute < ?2 GROUP BY model HAVING sum(finished_success + finished_fail) > 0
        ORDER BY model
        """

    package static let selectTaskIDs = "SELECT task_id FROM tasks WHERE task_id >= ?1 AND task_id < ?2 ORDER BY task_id LIMIT ?3"
}

/// A `SELECT ... WHERE ts >= ?1` with optional `AND column = ?` filters, numbered as added.
private struct FilteredSelect {
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
