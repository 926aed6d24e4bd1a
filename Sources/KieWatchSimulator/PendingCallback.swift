import KieWatchCore

/// A callback waiting for its due time (first attempt, duplicate copy, or retry).
struct PendingCallback: Sendable {
    /// Tie-breaker that keeps delivery order deterministic when due times are equal.
    var sequence: Int
    var taskId: String
    var url: String
    var body: [UInt8]
    var dueAt: EpochMillis
    var attempt: Int
    var copy: Int
}
