import KieWatchCore

/// When to try delivering a relay again: immediately, 5 s, 30 s, 2 min, 10 min, 30 min,
/// then hourly until the limit (default 24 h after the first attempt), then give up.
public struct RelayBackoff: Sendable, Equatable {
    public static let schedule: [Int64] = [0, 5_000, 30_000, 120_000, 600_000, 1_800_000]
    public var giveUpAfterMillis: Int64

    public init(giveUpAfterMillis: Int64 = 24 * 3_600_000) {
        self.giveUpAfterMillis = giveUpAfterMillis
    }

    /// After `attempts` failed attempts (1 = the first failed), when to try next; nil = give up.
    public func nextAttempt(afterFailedAttempts attempts: Int, firstAttemptAt: EpochMillis, now: EpochMillis)
        -> EpochMillis?
    {
        let delay = attempts >= 0 && attempts < Self.schedule.count ? Self.schedule[attempts] : 3_600_000
        let next = now.saturatingAdding(delay)
        return next.saturatingSubtracting(firstAttemptAt) > giveUpAfterMillis ? nil : next
    }
}
