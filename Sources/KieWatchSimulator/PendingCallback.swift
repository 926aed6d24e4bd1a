import KieWatchCore

/// A callback waiting for its due time (first attempt, duplicate copy, or retry).
struct PendingCallback: Sendable {
    /// Tie-breaker that keeps delivery order deterministic when due times are equal.
    var sequence: Int
    /// The simulator's key for the task (`SimulatedTask.id`).
    var taskId: String
    /// The id the body names and Kie's signature covers (the parent's, for a Veo 4K job).
    var kieTaskId: String
    /// Which of the task's callbacks (Suno's `text`, `first`, `complete`, `error`); nil for a
    /// family that sends one.
    var kind: String?
    var url: String
    var body: [UInt8]
    var dueAt: EpochMillis
    var attempt: Int
    var copy: Int
}
