import KieWatchCore

/// The SQL that maps each record type to its table, shared by the writer and the readers so
/// a column list exists exactly once.
///
/// Every free-text column is written through `URLRedaction` here, whatever the caller passed:
/// paths, error texts (`api_calls.error`, `relay_outbox.last_error`, `relay_attempts.error`),
/// recovery details and Kie's fail messages. An error about a URL quotes the URL, user info
/// and secret included; no call site has to remember that.
package enum RecordSQL {
    // MARK: api_calls

    static let insertCall = """
        INSERT INTO api_calls(ts, endpoint, model, task_id, method, path, http_status, body_code,
                              latency_us, request_bytes, response_bytes, outcome, error)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        """

    @inline(__always)
    static func insert(_ call: APICallRecord, into db: Database) throws -> Int64 {
        let s = try db.statement(.insertCall)
        defer { s.reset() }
        try s.bind(call.ts, at: 1)
        try s.bind(call.endpoint.rawValue, at: 2)
        try s.bind(call.model, at: 3)
        try s.bind(call.taskID, at: 4)
        try s.bind(call.method, at: 5)
        try s.bind(URLRedaction.redact(call.path), at: 6)
        try s.bind(call.httpStatus, at: 7)
        try s.bind(call.bodyCode, at: 8)
        try s.bind(call.latencyMicros, at: 9)
        try s.bind(call.requestBytes, at: 10)
        try s.bind(call.responseBytes, at: 11)
        try s.bind(call.outcome.rawValue, at: 12)
        try s.bind(call.error.map(URLRedaction.redact), at: 13)
        try s.step()
        return db.lastInsertRowID
    }

    // MARK: webhooks

    static let insertWebhook = """
        INSERT INTO webhooks(ts, family, task_id, model, state, auth, result, delay_ms, body,
                             signature_timestamp, signature)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
        """

    static func insert(_ webhook: WebhookRecord, into db: Database) throws -> Int64 {
        let s = try db.statement(.insertWebhook)
        defer { s.reset() }
        try s.bind(webhook.ts, at: 1)
        try s.bind(webhook.family.rawValue, at: 2)
        try s.bind(webhook.taskID, at: 3)
        try s.bind(webhook.model, at: 4)
        try s.bind(webhook.state?.rawValue, at: 5)
        try s.bind(webhook.auth.rawValue, at: 6)
        try s.bind(webhook.result.rawValue, at: 7)
        try s.bind(webhook.delayMillis, at: 8)
        try s.bind(webhook.body, at: 9)
        try s.bind(webhook.signatureTimestamp, at: 10)
        try s.bind(webhook.signature, at: 11)
        try s.step()
        return db.lastInsertRowID
    }

    static let webhookColumns = """
        id, ts, family, task_id, model, state, auth, result, delay_ms, body, signature_timestamp, signature
        """

    static func webhook(from s: Statement) -> WebhookRecord {
        WebhookRecord(
            id: s.int64(at: 0), ts: s.int64(at: 1), family: TaskFamily.named(s.string(at: 2)) ?? .market,
            taskID: s.optionalString(at: 3), model: s.optionalString(at: 4),
            state: s.optionalString(at: 5).flatMap(TaskState.init(rawValue:)),
            auth: WebhookAuth(rawValue: s.string(at: 6)) ?? .missing,
            result: WebhookResult(rawValue: s.string(at: 7)) ?? .malformed,
            delayMillis: s.optionalInt64(at: 8), body: s.blob(at: 9),
            signatureTimestamp: s.optionalString(at: 10), signature: s.optionalString(at: 11))
    }

    // MARK: tasks

    package static let taskColumns = """
        task_id, family, model, state, created_at, updated_at, completed_at, finished_at, callback_url,
        expects_callback, deadline_at, last_callback_at, callbacks_received, recovered_at,
        recovery_attempts, next_poll_at, result_source, fail_code, fail_msg, credits_consumed, missed,
        gave_up_at, callback_kinds
        """

    static let selectTask = "SELECT \(taskColumns) FROM tasks WHERE task_id = ?1"

    static let upsertTask = """
        INSERT INTO tasks(\(taskColumns))
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
        ON CONFLICT(task_id) DO UPDATE SET
            family = excluded.family, model = excluded.model, state = excluded.state,
            created_at = excluded.created_at, updated_at = excluded.updated_at,
            completed_at = excluded.completed_at, finished_at = excluded.finished_at,
            callback_url = excluded.callback_url, expects_callback = excluded.expects_callback,
            deadline_at = excluded.deadline_at, last_callback_at = excluded.last_callback_at,
            callbacks_received = excluded.callbacks_received, recovered_at = excluded.recovered_at,
            recovery_attempts = excluded.recovery_attempts, next_poll_at = excluded.next_poll_at,
            result_source = excluded.result_source, fail_code = excluded.fail_code,
            fail_msg = excluded.fail_msg, credits_consumed = excluded.credits_consumed,
            missed = excluded.missed, gave_up_at = excluded.gave_up_at, callback_kinds = excluded.callback_kinds
        """

    static func upsert(_ t: TaskRecord, into db: Database) throws {
        let s = try db.statement(.upsertTask)
        defer { s.reset() }
        try s.bind(t.taskID, at: 1)
        try s.bind(t.family.rawValue, at: 2)
        try s.bind(t.model, at: 3)
        try s.bind(t.state.rawValue, at: 4)
        try s.bind(t.createdAt, at: 5)
        try s.bind(t.updatedAt, at: 6)
        try s.bind(t.completedAt, at: 7)
        try s.bind(t.finishedAt, at: 8)
        try s.bind(t.callbackURL, at: 9)
        try s.bind(t.expectsCallback, at: 10)
        try s.bind(t.deadlineAt, at: 11)
        try s.bind(t.lastCallbackAt, at: 12)
        try s.bind(t.callbacksReceived, at: 13)
        try s.bind(t.recoveredAt, at: 14)
        try s.bind(t.recoveryAttempts, at: 15)
        try s.bind(t.nextPollAt, at: 16)
        try s.bind(t.resultSource?.rawValue, at: 17)
        try s.bind(t.failCode, at: 18)
        try s.bind(t.failMessage.map(URLRedaction.redact), at: 19)
        try s.bind(t.creditsConsumed, at: 20)
        try s.bind(t.missed, at: 21)
        try s.bind(t.recoveryGaveUpAt, at: 22)
        try s.bind(callbackKindsText(t.callbackKinds), at: 23)
        try s.step()
    }

    /// The task's columns as values, in `taskColumns` order.
    static func values(of t: TaskRecord) -> [SQLValue] {
        func int(_ v: Int64?) -> SQLValue { v.map(SQLValue.integer) ?? .null }
        func text(_ v: String?) -> SQLValue { v.map(SQLValue.text) ?? .null }
        return [
            .text(t.taskID), .text(t.family.rawValue), .text(t.model), .text(t.state.rawValue),
            .integer(t.createdAt), .integer(t.updatedAt), int(t.completedAt), int(t.finishedAt),
            text(t.callbackURL), .integer(t.expectsCallback ? 1 : 0), int(t.deadlineAt), int(t.lastCallbackAt),
            .integer(Int64(t.callbacksReceived)), int(t.recoveredAt), .integer(Int64(t.recoveryAttempts)),
            int(t.nextPollAt), text(t.resultSource?.rawValue), text(t.failCode), text(t.failMessage.map(URLRedaction.redact)),
            t.creditsConsumed.map(SQLValue.real) ?? .null, .integer(t.missed ? 1 : 0), int(t.recoveryGaveUpAt),
            text(callbackKindsText(t.callbackKinds)),
        ]
    }

    /// `callback_kinds`: the kinds joined with commas, NULL for none.
    static func callbackKindsText(_ kinds: [String]) -> String? {
        kinds.isEmpty ? nil : kinds.joined(separator: ",")
    }

    static let taskColumnNames: [String] = taskColumns.split(separator: ",").map {
        String($0.trimmingPrefix(while: { $0 == " " || $0 == "\n" }))
    }

    /// Writes only the columns of `t` that differ from `old`, the stored version of the same
    /// task: SQLite then rewrites only the indexes over those columns (a callback that finishes
    /// a task leaves `tasks_created` and `tasks_model_created` alone). `statements` keeps the
    /// prepared statement per set of changed columns (a handful of shapes in practice).
    static func update(
        _ t: TaskRecord, from old: TaskRecord, in db: Database, statements: inout [UInt32: Statement]
    ) throws {
        precondition(t.taskID == old.taskID, "update(_:from:) needs two versions of one task")
        let new = values(of: t)
        let previous = values(of: old)
        var changed: UInt32 = 0
        for index in 1..<new.count where new[index] != previous[index] { changed |= 1 << UInt32(index) }
        guard changed != 0 else { return }
        let statement: Statement
        if let cached = statements[changed] {
            statement = cached
        } else {
            var assignments: [String] = []
            for index in 1..<new.count where changed & (1 << UInt32(index)) != 0 {
                assignments.append("\(taskColumnNames[index]) = ?\(assignments.count + 2)")
            }
            statement = try db.cachedStatement(
                "UPDATE tasks SET " + assignments.joined(separator: ", ") + " WHERE task_id = ?1")
            statements[changed] = statement
        }
        defer { statement.reset() }
        try statement.bind(new[0], at: 1)
        var parameter: Int32 = 2
        for index in 1..<new.count where changed & (1 << UInt32(index)) != 0 {
            try statement.bind(new[index], at: parameter)
            parameter += 1
        }
        _ = try statement.step()
    }

    package static func task(from s: Statement) -> TaskRecord { task(from: s, offset: 0) }

    /// A task from the statement's columns starting at `offset` (`taskColumns`, in order).
    package static func task(from s: Statement, offset o: Int32) -> TaskRecord {
        TaskRecord(
            taskID: s.string(at: o), family: TaskFamily.named(s.string(at: o + 1)) ?? .market,
            model: s.string(at: o + 2), state: TaskState(rawValue: s.string(at: o + 3)) ?? .created,
            createdAt: s.int64(at: o + 4), updatedAt: s.int64(at: o + 5), completedAt: s.optionalInt64(at: o + 6),
            finishedAt: s.optionalInt64(at: o + 7), callbackURL: s.optionalString(at: o + 8),
            expectsCallback: s.int64(at: o + 9) != 0, deadlineAt: s.optionalInt64(at: o + 10),
            lastCallbackAt: s.optionalInt64(at: o + 11), callbacksReceived: s.int(at: o + 12),
            recoveredAt: s.optionalInt64(at: o + 13), recoveryAttempts: s.int(at: o + 14),
            nextPollAt: s.optionalInt64(at: o + 15),
            resultSource: s.optionalString(at: o + 16).flatMap(ResultSource.init(rawValue:)),
            failCode: s.optionalString(at: o + 17), failMessage: s.optionalString(at: o + 18),
            creditsConsumed: s.optionalDouble(at: o + 19), missed: s.int64(at: o + 20) != 0,
            recoveryGaveUpAt: s.optionalInt64(at: o + 21),
            callbackKinds: s.optionalString(at: o + 22).map { $0.split(separator: ",").map(String.init) } ?? [])
    }


    static func task(id: String, in db: Database) throws -> TaskRecord? {
        let s = try db.statement(.selectTask)
        defer { s.reset() }
        try s.bind(id, at: 1)
        return try s.step() ? task(from: s) : nil
    }

    /// Non-terminal tasks expecting a callback whose deadline has passed; uses `tasks_open_deadline_callback`.
    static let selectStale = """
        SELECT \(taskColumns) FROM tasks
        WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND expects_callback = 1
        ORDER BY deadline_at LIMIT ?2
        """

    /// Stale tasks whose next recovery poll is due (never polled, or `next_poll_at` passed),
    /// excluding those recovery gave up on; polling apps' tasks included, and tasks whose result
    /// the app learned by polling while their callback is still owed. Uses `tasks_open_deadline_callback`
    /// and `tasks_done_awaiting_callback`.
    static let selectRecoveryDue = """
        SELECT * FROM (
            SELECT \(taskColumns) FROM tasks
            WHERE state NOT IN ('success', 'fail') AND deadline_at <= ?1 AND gave_up_at IS NULL
              AND (next_poll_at IS NULL OR next_poll_at <= ?1)
            UNION ALL
            SELECT \(taskColumns) FROM tasks
            WHERE state IN ('success', 'fail') AND expects_callback = 1 AND callbacks_received = 0
              AND recovered_at IS NULL AND gave_up_at IS NULL AND deadline_at <= ?1
              AND (next_poll_at IS NULL OR next_poll_at <= ?1))
        ORDER BY coalesce(next_poll_at, deadline_at) LIMIT ?2
        """

    /// The 20,000 most recently finished tasks, newest first, with their create-to-done time in ms.
    static let selectRecentDurations = """
        SELECT model, coalesce(completed_at, finished_at) - created_at FROM tasks
        WHERE state IN ('success', 'fail') AND finished_at IS NOT NULL
        ORDER BY finished_at DESC LIMIT 20000
        """

    // MARK: recoveries

    static let insertRecovery = """
        INSERT INTO recoveries(ts, task_id, model, result, detail) VALUES (?1, ?2, ?3, ?4, ?5)
        """

    static func insert(_ r: RecoveryRecord, into db: Database) throws -> Int64 {
        let s = try db.statement(.insertRecovery)
        defer { s.reset() }
        try s.bind(r.ts, at: 1)
        try s.bind(r.taskID, at: 2)
        try s.bind(r.model, at: 3)
        try s.bind(r.result.rawValue, at: 4)
        try s.bind(r.detail.map(URLRedaction.redact), at: 5)
        try s.step()
        return db.lastInsertRowID
    }

    // MARK: relay_outbox

    /// The outbox columns `outboxItem(from:)` reads; rows from before version 8 have no
    /// window of their own (it is their creation and all their attempts).
    static let outboxColumns = """
        id, task_id, url, body, headers, synthesized, created_at, next_attempt_at, attempts, state,
        last_status, last_error, delivered_at, replayed, coalesce(window_start_at, created_at),
        coalesce(window_attempts, attempts), gave_up_at
        """

    static let insertOutbox = """
        INSERT INTO relay_outbox(task_id, url, body, headers, synthesized, created_at, next_attempt_at,
                                 attempts, state, last_status, last_error, delivered_at, replayed,
                                 window_start_at, window_attempts, gave_up_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
        """

    static let updateOutbox = """
        UPDATE relay_outbox SET next_attempt_at = ?2, attempts = ?3, state = ?4, last_status = ?5,
                                last_error = ?6, delivered_at = ?7, window_attempts = ?8, gave_up_at = ?9
        WHERE id = ?1
        """

    static func insert(_ r: RelayOutboxItem, into db: Database) throws -> Int64 {
        let s = try db.cachedStatement(insertOutbox)
        defer { s.reset() }
        try s.bind(r.taskID, at: 1)
        try s.bind(r.url, at: 2)
        try s.bind(r.body, at: 3)
        try s.bind(r.headers, at: 4)
        try s.bind(r.synthesized, at: 5)
        try s.bind(r.createdAt, at: 6)
        try s.bind(r.nextAttemptAt, at: 7)
        try s.bind(r.attempts, at: 8)
        try s.bind(r.state.rawValue, at: 9)
        try s.bind(r.lastStatus, at: 10)
        try s.bind(r.lastError.map(URLRedaction.redact), at: 11)
        try s.bind(r.deliveredAt, at: 12)
        try s.bind(r.replayed, at: 13)
        try s.bind(r.windowStartAt, at: 14)
        try s.bind(r.windowAttempts, at: 15)
        try s.bind(r.gaveUpAt, at: 16)
        try s.step()
        return db.lastInsertRowID
    }

    /// Updates the delivery fields of an existing outbox row; returns whether it existed.
    static func updateDelivery(_ r: RelayOutboxItem, id: Int64, in db: Database) throws -> Bool {
        let s = try db.cachedStatement(updateOutbox)
        defer { s.reset() }
        try s.bind(id, at: 1)
        try s.bind(r.nextAttemptAt, at: 2)
        try s.bind(r.attempts, at: 3)
        try s.bind(r.state.rawValue, at: 4)
        try s.bind(r.lastStatus, at: 5)
        try s.bind(r.lastError.map(URLRedaction.redact), at: 6)
        try s.bind(r.deliveredAt, at: 7)
        try s.bind(r.windowAttempts, at: 8)
        try s.bind(r.gaveUpAt, at: 9)
        try s.step()
        return db.changes > 0
    }

    static func outboxItem(from s: Statement) -> RelayOutboxItem {
        RelayOutboxItem(
            id: s.int64(at: 0), taskID: s.string(at: 1), url: s.string(at: 2), body: s.blob(at: 3),
            headers: s.string(at: 4), synthesized: s.int64(at: 5) != 0, replayed: s.int64(at: 13) != 0,
            createdAt: s.int64(at: 6),
            nextAttemptAt: s.int64(at: 7), attempts: s.int(at: 8),
            state: RelayState(rawValue: s.string(at: 9)) ?? .pending, lastStatus: s.optionalInt(at: 10),
            lastError: s.optionalString(at: 11), deliveredAt: s.optionalInt64(at: 12), windowStartAt: s.int64(at: 14),
            windowAttempts: s.int(at: 15), gaveUpAt: s.optionalInt64(at: 16))
    }

    static let selectOutboxItem = "SELECT \(outboxColumns) FROM relay_outbox WHERE id = ?1"

    /// Pending relays due by a time, oldest due first; uses `relay_outbox_due`.
    /// Due relays, each task's in the order they were queued: one waits while an earlier one
    /// of its task is still pending (Suno's `text`, `first`, `complete` reach the app in that
    /// order, even when one of them needs a retry).
    static let selectDueRelays = """
        SELECT \(outboxColumns) FROM relay_outbox AS o
        WHERE state = 'pending' AND next_attempt_at <= ?1
          AND NOT EXISTS (SELECT 1 FROM relay_outbox AS e WHERE e.task_id = o.task_id AND e.id < o.id AND e.state = 'pending')
        ORDER BY next_attempt_at LIMIT ?2
        """

    // MARK: relay_attempts

    static let insertAttempt = """
        INSERT INTO relay_attempts(outbox_id, ts, http_status, error, duration_us) VALUES (?1, ?2, ?3, ?4, ?5)
        """

    static func insert(_ r: RelayAttemptRecord, into db: Database) throws -> Int64 {
        let s = try db.cachedStatement(insertAttempt)
        defer { s.reset() }
        try s.bind(r.outboxID, at: 1)
        try s.bind(r.ts, at: 2)
        try s.bind(r.httpStatus, at: 3)
        try s.bind(r.error.map(URLRedaction.redact), at: 4)
        try s.bind(r.durationMicros, at: 5)
        try s.step()
        return db.lastInsertRowID
    }

    // MARK: callback_routes

    static let insertRoute = """
        INSERT INTO callback_routes(token, family, model, callback_url, created_at, task_id)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        """

    static let selectRoute = """
        SELECT token, family, model, callback_url, created_at, task_id FROM callback_routes WHERE token = ?1
        """

    static let bindRoute = "UPDATE callback_routes SET task_id = ?2 WHERE token = ?1 AND task_id IS NULL"

    static let deleteUnboundRoute = "DELETE FROM callback_routes WHERE token = ?1 AND task_id IS NULL"

    static func insert(_ r: CallbackRoute, into db: Database) throws {
        _ = try db.execute(insertRoute, [
            .text(r.token), .text(r.family.rawValue), .text(r.model), .text(r.callbackURL), .integer(r.createdAt),
            r.taskID.map(SQLValue.text) ?? .null,
        ])
    }

    static func route(token: String, in db: Database) throws -> CallbackRoute? {
        let s = try db.cachedStatement(selectRoute)
        defer { s.reset() }
        try s.bind(token, at: 1)
        guard try s.step(), let family = TaskFamily.named(s.string(at: 1)) else { return nil }
        return CallbackRoute(
            token: s.string(at: 0), family: family, model: s.string(at: 2), callbackURL: s.string(at: 3),
            createdAt: s.int64(at: 4), taskID: s.optionalString(at: 5))
    }

    // MARK: meta

    static let upsertMeta = """
        INSERT INTO meta(key, value, updated_at) VALUES (?1, ?2, ?3)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """

    static let selectMeta = "SELECT value FROM meta WHERE key = ?1"

    static func meta(_ key: String, in db: Database) throws -> String? {
        let s = try db.cachedStatement(selectMeta)
        defer { s.reset() }
        try s.bind(key, at: 1)
        return try s.step() ? s.string(at: 0) : nil
    }

    /// Generic "list of records" runner for the readers.
    package static func list<T>(_ sql: String, _ arguments: [SQLValue], in db: Database,
                        _ decode: (Statement) -> T) throws -> [T] {
        let s = try db.cachedStatement(sql)
        defer { s.reset() }
        try s.bind(arguments)
        var out: [T] = []
        while try s.step() { out.append(decode(s)) }
        return out
    }
}
