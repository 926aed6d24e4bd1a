import KieWatchCore

/// The SQL of the on-call actions: the action log, putting given-up relays back, holding
/// relays behind a destination's circuit breaker, and the stored pause switch.
extension RecordSQL {
    // MARK: actions, action_tasks

    static let insertAction = """
        INSERT INTO actions(ts, actor, action, target, count, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        """

    static let addToAction = "UPDATE actions SET count = count + ?2, detail = coalesce(?3, detail) WHERE id = ?1"

    static let insertActionTask = """
        INSERT INTO action_tasks(action_id, task_id, outbox_id) VALUES (?1, ?2, ?3)
        ON CONFLICT(action_id, task_id) DO UPDATE SET outbox_id = excluded.outbox_id
        """

    /// The actions that touched a task, oldest first (`action_tasks_task`, then one action each).
    static let selectActionsForTask = """
        SELECT a.id, a.ts, a.actor, a.action, a.target, a.count, a.detail, t.outbox_id
        FROM action_tasks t JOIN actions a ON a.id = t.action_id
        WHERE t.task_id = ?1 ORDER BY a.ts, a.id
        """

    static let selectRecentActions = """
        SELECT id, ts, actor, action, target, count, detail FROM actions ORDER BY ts DESC, id DESC LIMIT ?1
        """

    static func insert(_ action: ConsoleActionRecord, into db: Database) throws -> Int64 {
        _ = try db.execute(insertAction, [
            .integer(action.ts), .text(action.actor.rawValue), .text(action.action.rawValue),
            .text(URLRedaction.redact(action.target)), .integer(Int64(action.count)),
            action.detail.map { .text(URLRedaction.redact($0)) } ?? .null,
        ])
        return db.lastInsertRowID
    }

    static func action(from s: Statement) -> ConsoleActionRecord {
        ConsoleActionRecord(
            id: s.int64(at: 0), ts: s.int64(at: 1), actor: ConsoleActionActor(rawValue: s.string(at: 2)) ?? .adminSocket,
            action: ConsoleActionKind(rawValue: s.string(at: 3)) ?? .replay, target: s.string(at: 4),
            count: s.int(at: 5), detail: s.optionalString(at: 6))
    }

    // MARK: relay_outbox

    /// A pending relay of a task (`relay_outbox_task`): the console never queues a second one.
    static let selectPendingRelayForTask = """
        SELECT \(outboxColumns) FROM relay_outbox WHERE task_id = ?1 AND state = 'pending' ORDER BY id LIMIT 1
        """

    static let countPendingRelays = "SELECT count(*) FROM relay_outbox WHERE state = 'pending'"

    /// Puts a given-up relay back: due now, with a new give-up window and backoff.
    static let requeueRelay = """
        UPDATE relay_outbox SET state = 'pending', next_attempt_at = ?2, window_start_at = ?2, window_attempts = 0,
                                gave_up_at = NULL
        WHERE id = ?1 AND state = 'gave_up'
        """

    /// Moves a pending relay's next attempt (held behind its destination's open circuit).
    static let deferRelay = "UPDATE relay_outbox SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending'"

    static let releaseHeldRelay = """
        UPDATE relay_outbox SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending' AND next_attempt_at > ?2
        """

    /// Stops the give-up clock of every pending relay for a pause from `?1` to `?2`: each
    /// window moves forward by the part of the pause it lived through (a relay queued during
    /// the pause starts its window at the resume).
    static let shiftPendingWindows = """
        UPDATE relay_outbox
        SET window_start_at = coalesce(window_start_at, created_at)
                + max(0, ?2 - max(?1, coalesce(window_start_at, created_at)))
        WHERE state = 'pending'
        """

    /// The given-up relays a `relay retry gave_up` selection names (`?1` given up at or after,
    /// `?2` model or NULL), as a range of `relay_outbox_gave_up` (named: without statistics
    /// SQLite would walk every given-up relay through `relay_outbox_state_created`).
    static let givenUpMatch = """
        o.state = 'gave_up' AND o.gave_up_at >= ?1
          AND (?2 IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = o.task_id AND t.model = ?2))
        """

    /// Of those, the ones a retry puts back: the newest given-up relay of each task, unless the
    /// task has a relay pending (it would be a second copy) or one delivered after it (the app
    /// has the result).
    static let retryableMatch = """
        \(givenUpMatch)
          AND o.id = (SELECT max(g.id) FROM relay_outbox g WHERE g.task_id = o.task_id AND g.state = 'gave_up')
          AND NOT EXISTS (
              SELECT 1 FROM relay_outbox p
              WHERE p.task_id = o.task_id AND (p.state = 'pending' OR (p.state = 'delivered' AND p.id > o.id)))
        """

    static let givenUpSource = "relay_outbox o INDEXED BY relay_outbox_gave_up"
    static let countGivenUp = "SELECT count(*) FROM \(givenUpSource) WHERE \(givenUpMatch)"
    static let countRetryable = "SELECT count(*) FROM \(givenUpSource) WHERE \(retryableMatch)"

    /// The next retryable relays after id `?3`, at most `?4`, in id order.
    static let selectRetryable = """
        SELECT o.id, o.task_id FROM \(givenUpSource)
        WHERE \(retryableMatch) AND o.id > ?3
        ORDER BY o.id LIMIT ?4
        """

    static func arguments(_ selection: GivenUpRelaySelection) -> [SQLValue] {
        [.integer(selection.since ?? .min), selection.model.map(SQLValue.text) ?? .null]
    }

    // MARK: The pause switch (meta)

    /// `meta` key of the pause: `"<since>"` or `"<since> <until>"` in epoch milliseconds.
    static let relayPauseKey = "relay_paused"

    static let deleteMeta = "DELETE FROM meta WHERE key = ?1"

    static func encode(_ pause: RelayPause) -> String {
        pause.until.map { "\(pause.since) \($0)" } ?? String(pause.since)
    }

    /// The stored pause; a value this build cannot read holds deliveries until `relay resume`
    /// (holding is the safe reading of a switch someone set).
    static func decodePause(_ text: String) -> RelayPause {
        let parts = text.split(separator: " ")
        let since = parts.first.flatMap { Int64($0) } ?? 0
        let until = parts.count > 1 ? Int64(parts[1]) : nil
        return RelayPause(since: since, until: until)
    }
}
