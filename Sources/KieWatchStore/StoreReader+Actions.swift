import KieWatchCore

/// The reads of the on-call actions: the action log, the pause switch, and what a bulk
/// `relay retry gave_up` would touch.
extension StoreReader {
    /// The actions that touched a task, oldest first.
    package func actions(taskID: String) throws -> [TaskActionRecord] {
        try RecordSQL.list(RecordSQL.selectActionsForTask, [.text(taskID)], in: db) { s in
            TaskActionRecord(action: RecordSQL.action(from: s), outboxID: s.optionalInt64(at: 7))
        }
    }

    /// The most recent actions, newest first.
    package func recentActions(limit: Int) throws -> [ConsoleActionRecord] {
        try RecordSQL.list(RecordSQL.selectRecentActions, [.integer(Int64(limit))], in: db, RecordSQL.action(from:))
    }

    /// The stored pause switch; nil when the relay delivers.
    package func relayPause() throws -> RelayPause? {
        try meta(RecordSQL.relayPauseKey).map(RecordSQL.decodePause)
    }

    /// The task's pending relay, if it has one.
    package func pendingRelay(taskID: String) throws -> RelayOutboxItem? {
        try RecordSQL.list(RecordSQL.selectPendingRelayForTask, [.text(taskID)], in: db, RecordSQL.outboxItem(from:)).first
    }

    package func pendingRelayCount() throws -> Int {
        Int(try db.rows(RecordSQL.countPendingRelays).first?.first?.int64 ?? 0)
    }

    /// How many given-up relays `selection` matches, and how many a retry would put back.
    package func givenUpRelayCounts(_ selection: GivenUpRelaySelection) throws -> GivenUpRelayCounts {
        let arguments = RecordSQL.arguments(selection)
        return GivenUpRelayCounts(
            givenUp: try db.rows(RecordSQL.countGivenUp, arguments).first?.first?.int64 ?? 0,
            retryable: try db.rows(RecordSQL.countRetryable, arguments).first?.first?.int64 ?? 0)
    }
}
