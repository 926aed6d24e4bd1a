import KieWatchCore
import KieWatchStore

/// When to poll a stale task again, following Kie's suggested cadence: every 2–3 s in the
/// first 30 s, every 5–10 s until 2 min, then every 15–30 s; give up after a limit
/// (default 15 min of trying). Times count from the first recovery poll.
public struct RecoveryCadence: Sendable, Equatable {
    public var giveUpAfterMillis: Int64
    /// How long after its create a task Kie does not know (`404`, `422 recordInfo is null`) is
    /// "not found yet" rather than not found: Kie's create and status calls are not instantly
    /// consistent. Within it such a poll counts `still_running` and the task is polled again
    /// on the cadence; after it, `not_found`.
    public var notFoundGraceMillis: Int64

    /// Default of `notFoundGraceMillis`: a minute, well past the seconds Kie takes to catch up.
    public static let defaultNotFoundGraceMillis: Int64 = 60_000

    public init(giveUpAfterMillis: Int64 = 15 * 60_000, notFoundGraceMillis: Int64 = defaultNotFoundGraceMillis) {
        self.giveUpAfterMillis = giveUpAfterMillis
        self.notFoundGraceMillis = notFoundGraceMillis
    }

    /// Whether `task` is young enough at `now` that Kie may not show it yet.
    func isYoung(_ task: TaskRecord, now: EpochMillis) -> Bool {
        now - task.createdAt < notFoundGraceMillis
    }

    /// The next poll time after a poll at `now` for a recovery that started at `startedAt`,
    /// or nil when the task should be given up. `minimumInterval` is the family's own floor
    /// (`TaskFamily.minimumPollIntervalMillis`: Kie asks Luma clients for 30 s).
    public func nextPoll(startedAt: EpochMillis, now: EpochMillis, minimumInterval: Int64 = 0) -> EpochMillis? {
        // Clamped: `startedAt` comes from a stored row; a nonsense one gives up, never traps.
        let elapsed = now.saturatingSubtracting(startedAt)
        guard elapsed < giveUpAfterMillis else { return nil }
        let interval: Int64
        switch elapsed {
        case ..<30_000: interval = 3_000
        case ..<120_000: interval = 10_000
        default: interval = 30_000
        }
        return now.saturatingAdding(max(interval, minimumInterval))
    }
}
