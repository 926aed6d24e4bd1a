/// What Kie says about one task, normalized across the market and Veo families and across
/// status answers and callbacks. The agent learns task state only through this type.
public struct TaskReport: Sendable, Equatable {
    public var taskId: String
    public var family: ModelFamily
    public var model: String?
    public var state: TaskState
    /// When Kie created the task (epoch ms), if reported.
    public var createdAt: EpochMillis?
    /// When Kie finished the task (epoch ms), if reported.
    public var completedAt: EpochMillis?
    public var failCode: String?
    public var failMessage: String?
    public var resultURLs: [String]
    /// Credits this task consumed (`creditsConsumed`, or the older `consumeCredits`).
    public var creditsConsumed: Double?
    /// Credits left on the account after this task (`remainedCredits`), when reported.
    public var creditsRemaining: Double?
    /// 0–100, reported for Sora models while generating.
    public var progress: Int?

    public init(
        taskId: String, family: ModelFamily, model: String? = nil, state: TaskState,
        createdAt: EpochMillis? = nil, completedAt: EpochMillis? = nil, failCode: String? = nil,
        failMessage: String? = nil, resultURLs: [String] = [], creditsConsumed: Double? = nil,
        creditsRemaining: Double? = nil, progress: Int? = nil
    ) {
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
