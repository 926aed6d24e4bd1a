/// What Kie says about one task, normalized across every task family (`TaskFamily`) and
/// across status answers and callbacks. The agent learns task state only through this type.
///
/// Every number here came from outside, so the decoders (`KieWire`) keep each one inside its
/// plausible range and report a value outside it as absent (nil): the delivery that carried it
/// is still stored, answered and relayed byte for byte, only this reading of the field is
/// dropped. Downstream arithmetic (durations, delays, rollups, metrics) can then rely on the
/// ranges below.
public struct TaskReport: Sendable, Equatable {
    public var taskId: String
    public var family: TaskFamily
    public var model: String?
    public var state: TaskState
    /// When Kie created the task (epoch ms), if reported; always within `plausibleTimes`.
    public var createdAt: EpochMillis?
    /// When Kie finished the task (epoch ms), if reported; always within `plausibleTimes`.
    public var completedAt: EpochMillis?
    public var failCode: String?
    public var failMessage: String?
    public var resultURLs: [String]
    /// Credits this task consumed (`creditsConsumed`, or the older `consumeCredits`); always
    /// within `plausibleCreditsConsumed` (NaN, infinities, negatives and absurd sizes: nil).
    public var creditsConsumed: Double?
    /// Credits left on the account after this task (`remainedCredits`), when reported; always
    /// finite and within `plausibleCreditBalance`.
    public var creditsRemaining: Double?
    /// 0–100, reported for Sora models while generating (GPT-4o image: a fraction, read as
    /// percent); other values are absent.
    public var progress: Int?
    /// Which callback of a family that sends several this is (Suno's `text`, `first`,
    /// `complete`, `error`); nil for a family with one callback, and for status answers.
    public var callbackKind: String?
    /// Kie says the task succeeded but its callback failed (Luma's `successFlag` 4): the
    /// webhook is missed already, whatever the deadline.
    public var callbackFailed = false

    /// Kie times the agent accepts: 1970-01-01 up to the end of year 9999, the same window
    /// whichever way Kie spells the time (epoch seconds, epoch ms, or a date string). Beyond
    /// it a time is not a time, and differences of two accepted times stay far from overflow
    /// even in microseconds.
    public static let plausibleTimes: ClosedRange<EpochMillis> = 0...253_402_300_799_999

    /// Credits one task may consume: none up to a quadrillion. Beyond that (or NaN, an
    /// infinity, a negative) the field is broken, not a price; keeping these out means sums of
    /// credits (rollups, `kiewatch_credits_consumed_total`) stay finite and never become NaN.
    public static let plausibleCreditsConsumed: ClosedRange<Double> = 0...1e15

    /// Account balances the agent accepts (Kie's `remainedCredits` and the credit endpoint).
    public static let plausibleCreditBalance: ClosedRange<Double> = -1e15...1e15

    public init(
        taskId: String, family: TaskFamily, model: String? = nil, state: TaskState,
        createdAt: EpochMillis? = nil, completedAt: EpochMillis? = nil, failCode: String? = nil,
        failMessage: String? = nil, resultURLs: [String] = [], creditsConsumed: Double? = nil,
        creditsRemaining: Double? = nil, progress: Int? = nil, callbackKind: String? = nil
    ) {
        self.callbackKind = callbackKind
        self.taskId = taskId
        self.family = family
        self.model = model
        self.state = state
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.failCode = failCode
        self.failMessage = failMessage
        self.resultURLs = resultURLs
        self.creditsConsumed = creditsConsumed
        self.creditsRemaining = creditsRemaining
        self.progress = progress
    }
}

/// Why a Kie payload could not be read as what it should be.
public struct KieDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
