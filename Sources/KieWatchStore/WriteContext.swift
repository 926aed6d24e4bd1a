import KieWatchCore

/// What a `StoreWriter.write` closure gets: typed helpers and raw SQL on the writer's
/// connection, within the current batch transaction.
///
/// Only valid during the closure; do not let it escape (it is not Sendable, and the connection
/// belongs to the writer thread). Everything done through it commits with the batch or, if the
/// closure throws, rolls back alone.
package final class WriteContext {
    let db: Database
    let clock: any WallClock
    /// This closure's rollup changes, applied to the batch's only when the closure succeeds.
    var rollups = RollupJournal()
    /// `UPDATE tasks` statements per set of changed columns (see `RecordSQL.update`).
    private var taskUpdates: [UInt32: Statement] = [:]

    init(db: Database, clock: any WallClock) {
        self.db = db
        self.clock = clock
    }

    // MARK: Time-series rows

    /// Inserts an API call row (path redacted) and counts it in the call rollup.
    @discardableResult
    package func insert(_ call: APICallRecord) throws -> Int64 {
        let id = try RecordSQL.insert(call, into: db)
        rollups.add(call)
        return id
    }

    /// Inserts a webhook delivery row and counts it in the webhook rollup.
    @discardableResult
    package func insert(_ webhook: WebhookRecord) throws -> Int64 {
        let id = try RecordSQL.insert(webhook, into: db)
        rollups.add(webhook)
        return id
    }

    /// Inserts a recovery poll row and counts it in the running totals.
    @discardableResult
    package func insert(_ recovery: RecoveryRecord) throws -> Int64 {
        let id = try RecordSQL.insert(recovery, into: db)
        rollups.add(recovery)
        return id
    }

    // MARK: Tasks

    package func task(id: String) throws -> TaskRecord? {
        try RecordSQL.task(id: id, in: db)
    }

    /// Inserts or updates a task row, and keeps `task_rollup` in step with the transition:
    /// a new row counts `created` (at `createdAt`), the first move to a terminal state counts
    /// `finished_success`/`finished_fail`, the duration and the credits (at `finishedAt`, else `updatedAt`),
    /// and `missed` turning true counts a missed webhook. Saving the same state twice counts
    /// nothing twice, so callers can simply save what they decided. Opening or finishing a task
    /// moves the writer's open-task count (`StoreWriter.openTasksByModel`): saving through here
    /// is the only way task rows may change state.
    package func save(_ task: TaskRecord) throws {
        try save(task, replacing: try RecordSQL.task(id: task.taskID, in: db))
    }

    /// `save` for a caller that read the stored row in this same closure (`task(id:)`) and
    /// changed it: `stored` is that row as read (nil: there was none), which spares a second
    /// lookup; only the changed columns are written.
    package func save(_ task: TaskRecord, replacing stored: TaskRecord?) throws {
        var task = task
        // A value the column cannot hold as given (NaN would bind as NULL, an infinity would
        // poison every sum) is stored as absent, like credits Kie never reported.
        if let credits = task.creditsConsumed, !TaskReport.plausibleCreditsConsumed.contains(credits) {
            task.creditsConsumed = nil
        }
        if let stored {
            try RecordSQL.update(task, from: stored, in: db, statements: &taskUpdates)
        } else {
            try RecordSQL.upsert(task, into: db)
            rollups.taskCreated(model: task.model, at: task.createdAt)
        }
        let learnedAt = task.finishedAt ?? task.updatedAt
        if task.state.isTerminal && !(stored?.state.isTerminal ?? false) {
            // `completedAt` and the credits are Kie's: clamped here, sanitized again by the
            // accumulator, so no row can make the save trap or the rollup write fail.
            let end = task.completedAt ?? learnedAt
            let durationMicros = end.saturatingSubtracting(task.createdAt).saturatingMultiplied(by: 1_000)
            rollups.taskFinished(model: task.model, success: task.state == .success, at: learnedAt,
                                 durationMicros: durationMicros, credits: task.creditsConsumed ?? 0)
        }
        if task.missed && !(stored?.missed ?? false) {
            rollups.taskMissed(model: task.model, at: learnedAt)
        }
        let wasOpen = stored.map { !$0.state.isTerminal } ?? false
        let isOpen = !task.state.isTerminal
        if wasOpen != isOpen || (wasOpen && stored?.model != task.model) {
            if wasOpen, let stored { rollups.openTasks(model: stored.model, delta: -1) }
            if isOpen { rollups.openTasks(model: task.model, delta: 1) }
        }
    }

    /// Inserts a task only if its id is new; returns whether it was inserted.
    @discardableResult
    package func insertIfAbsent(_ task: TaskRecord) throws -> Bool {
        guard try self.task(id: task.taskID) == nil else { return false }
        try save(task, replacing: nil)
        return true
    }

    // MARK: Relay outbox

    /// Adds a relay to the outbox; returns its id.
    @discardableResult
    package func enqueueRelay(_ item: RelayOutboxItem) throws -> Int64 {
        try RecordSQL.insert(item, into: db)
    }

    package func relay(id: Int64) throws -> RelayOutboxItem? {
        try RecordSQL.list(RecordSQL.selectOutboxItem, [.integer(id)], in: db, RecordSQL.outboxItem(from:)).first
    }

    /// Saves the delivery fields (state, attempts, next attempt, last status/error, delivered
    /// time) of an outbox item that has an id; returns false when no such row exists.
    @discardableResult
    package func updateRelay(_ item: RelayOutboxItem) throws -> Bool {
        guard let id = item.id else {
            throw StoreError(kind: .sqlite, code: 0, message: "updateRelay needs an item with an id")
        }
        return try RecordSQL.updateDelivery(item, id: id, in: db)
    }

    /// Inserts a relay attempt row and counts it in the running totals as `result`; nil
    /// means delivered for a 2xx answer, else failed (pass `.gaveUp` for the last attempt).
    @discardableResult
    package func insert(_ attempt: RelayAttemptRecord, result: RelayAttemptResult? = nil) throws -> Int64 {
        let id = try RecordSQL.insert(attempt, into: db)
        let delivered = attempt.httpStatus.map { (200..<300).contains($0) } ?? false
        rollups.relayAttempt(result ?? (delivered ? .delivered : .failed), at: attempt.ts)
        return id
    }

    // MARK: Callback routes

    package func insert(_ route: CallbackRoute) throws {
        try RecordSQL.insert(route, into: db)
    }

    package func route(token: String) throws -> CallbackRoute? {
        try RecordSQL.route(token: token, in: db)
    }

    /// Names the task of a route not bound yet; returns whether it did (a route is bound once).
    @discardableResult
    package func bindRoute(token: String, taskID: String) throws -> Bool {
        try db.execute(RecordSQL.bindRoute, [.text(token), .text(taskID)]) > 0
    }

    /// Deletes a route no task was bound to (Kie refused the create); returns whether it did.
    @discardableResult
    package func deleteUnboundRoute(token: String) throws -> Bool {
        try db.execute(RecordSQL.deleteUnboundRoute, [.text(token)]) > 0
    }

    // MARK: Meta

    package func setMeta(_ key: String, _ value: String) throws {
        try db.execute(RecordSQL.upsertMeta, [.text(key), .text(value), .integer(clock.now())])
    }

    package func meta(_ key: String) throws -> String? {
        try RecordSQL.meta(key, in: db)
    }

    // MARK: Raw SQL (cached statements)

    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    package func execute(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        try db.execute(sql, arguments)
    }

    package func query(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        try db.rows(sql, arguments)
    }

    package var lastInsertRowID: Int64 { db.lastInsertRowID }
}
