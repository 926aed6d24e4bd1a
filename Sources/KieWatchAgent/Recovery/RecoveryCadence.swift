import KieWatchCore

/// When to poll a stale task again, following Kie's suggested cadence: every 2–3 s in the
/// first 30 s, every 5–10 s until 2 min, then every 15–30 s; give up after a limit
/// (default 15 min of trying). Times count from the first recovery poll.
public struct RecoveryCadence: Sendable, Equatable {
    public var giveUpAfterMillis: Int64

    public init(giveUpAfterMillis: Int64 = 15 * 60_000) {
        self.giveUpAfterMillis = giveUpAfterMillis
    }

    /// The next poll time after a poll at `now` for a recovery that started at `startedAt`,
    /// or nil when the task should be given up.
    public func nextPoll(startedAt: EpochMillis, now: EpochMillis) -> EpochMillis? {
        // Clamped: `startedAt` comes from a stored row; a nonsense one gives up, never traps.
        let elapsed = now.saturatingSubtracting(startedAt)
        guard elapsed < giveUpAfterMillis else { return nil }
        let interval: Int64
        switch elapsed {
        case ..<30_000: interval = 3_000
        case ..<120_000: interval = 10_000
        default: interval = 30_000
        }
        return now.saturatingAdding(interval)
    }
}
