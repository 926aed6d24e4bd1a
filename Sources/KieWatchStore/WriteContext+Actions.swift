import KieWatchCore

/// The writes of the on-call actions and of the relay's circuit breaker, each typed so the
/// agent holds no SQL.
extension WriteContext {
    // MARK: Action log

    /// Records an action; returns its id.
    @discardableResult
    package func insert(_ action: ConsoleActionRecord) throws -> Int64 {
        try RecordSQL.insert(action, into: db)
    }

    /// Adds `count` relays to an action already recorded (a bulk retry, batch by batch), and
    /// replaces its detail when one is given.
    package func addToAction(id: Int64, count: Int, detail: String? = nil) throws {
        try db.execute(RecordSQL.addToAction, [
            .integer(id), .integer(Int64(count)), detail.map { .text(URLRedaction.redact($0)) } ?? .null,
        ])
    }

    /// Names a task (and the relay of it) an action touched, for the task's timeline.
    package func link(action id: Int64, taskID: String, outboxID: Int64?) throws {
        try db.execute(RecordSQL.insertActionTask, [.integer(id), .text(taskID), outboxID.map(SQLValue.integer) ?? .null])
    }

    // MARK: Relay outbox

    /// The task's pending relay, if it has one.
    package func pendingRelay(taskID: String) throws -> RelayOutboxItem? {
        try RecordSQL.list(RecordSQL.selectPendingRelayForTask, [.text(taskID)], in: db, RecordSQL.outboxItem(from:)).first
    }

    package func pendingRelayCount() throws -> Int {
        Int(try db.rows(RecordSQL.countPendingRelays).first?.first?.int64 ?? 0)
    }

    /// Puts a given-up relay back in the outbox, due at `now` with a new give-up window;
    /// returns false when it is not given up (pending, delivered, or gone).
    @discardableResult
    package func requeueRelay(id: Int64, at now: EpochMillis) throws -> Bool {
        try db.execute(RecordSQL.requeueRelay, [.integer(id), .integer(now)]) > 0
    }

    /// The next given-up relays a bulk retry puts back (see `GivenUpRelayCounts`), after id
    /// `after`, in id order.
    package func retryableRelays(
        _ selection: GivenUpRelaySelection, after: Int64, limit: Int
    ) throws -> [(id: Int64, taskID: String)] {
        try RecordSQL.list(
            RecordSQL.selectRetryable, RecordSQL.arguments(selection) + [.integer(after), .integer(Int64(limit))], in: db
        ) { s in (s.int64(at: 0), s.string(at: 1)) }
    }

    /// Moves a pending relay's next attempt to `until` (its destination's circuit is open);
    /// returns false when it is no longer pending.
    @discardableResult
    package func deferRelay(id: Int64, until: EpochMillis) throws -> Bool {
        try db.execute(RecordSQL.deferRelay, [.integer(id), .integer(until)]) > 0
    }

    /// Makes a relay held behind a circuit that has closed due at `now` (if it is still
    /// pending and not due sooner); returns whether it moved.
    @discardableResult
    package func releaseHeldRelay(id: Int64, at now: EpochMillis) throws -> Bool {
        try db.execute(RecordSQL.releaseHeldRelay, [.integer(id), .integer(now)]) > 0
    }

    /// Gives up a pending relay that was never attempted in its window because its destination's
    /// circuit stayed open: saved like a last failed attempt and counted as `gave_up` in the
    /// running totals, as the relay counts it in `kiewatch_relay_attempts_total`.
    package func giveUpHeldRelay(_ item: RelayOutboxItem, at now: EpochMillis) throws {
        var item = item
        item.state = .gaveUp
        item.gaveUpAt = now
        guard try updateRelay(item) else { return }
        rollups.relayAttempt(.gaveUp, at: now)
    }

    // MARK: Pause

    /// The stored pause switch; nil when the relay delivers.
    package func relayPause() throws -> RelayPause? {
        try RecordSQL.meta(RecordSQL.relayPauseKey, in: db).map(RecordSQL.decodePause)
    }

    /// Stores the pause switch (nil: delivering).
    package func setRelayPause(_ pause: RelayPause?) throws {
        if let pause {
            try setMeta(RecordSQL.relayPauseKey, RecordSQL.encode(pause))
        } else {
            try db.execute(RecordSQL.deleteMeta, [.text(RecordSQL.relayPauseKey)])
        }
    }

    /// Stops the give-up clocks of the pending relays for a pause from `pausedAt` to
    /// `resumedAt`; returns how many relays are pending (released by the resume).
    @discardableResult
    package func shiftPendingRelayWindows(pausedAt: EpochMillis, resumedAt: EpochMillis) throws -> Int {
        try db.execute(RecordSQL.shiftPendingWindows, [.integer(pausedAt), .integer(resumedAt)])
    }
}
