/// Counters of what the simulator did, for tests and the end-to-end scenario to compare with
/// what the agent recorded.
public struct SimulatorStats: Sendable, Equatable {
    /// Requests handled, whatever their answer.
    public var requests = 0
    /// Tasks accepted, per model id.
    public var tasksCreated: [String: Int] = [:]
    /// Tasks accepted, per family (`TaskFamily.rawValue`).
    public var tasksCreatedByFamily: [String: Int] = [:]
    public var tasksSucceeded = 0
    public var tasksFailed = 0

    /// Callback POST attempts made, retries included.
    public var callbacksSent = 0
    /// Attempts answered 2xx.
    public var callbacksDelivered = 0
    /// Tasks whose callback was deliberately never sent.
    public var callbacksDropped = 0
    /// Extra copies scheduled for duplicated callbacks (1 or 2 per duplicated task).
    public var callbacksDuplicated = 0
    /// Tasks whose callback was deliberately delayed.
    public var callbacksLate = 0
    /// Tasks whose callback was delivered before the create answer.
    public var callbacksEarly = 0
    /// Attempts after the first one of a copy.
    public var callbackRetries = 0
    /// Copies abandoned after the last retry failed.
    public var callbacksFailedDelivery = 0

    /// Creates answered 429.
    public var rateLimited = 0
    /// Injected server errors (body code 500 or HTTP 500/502/503).
    public var serverErrors = 0
    /// Requests answered 455 during a maintenance window.
    public var maintenanceAnswers = 0
    /// Requests deliberately answered late.
    public var slowAnswers = 0
    /// Requests whose connection was deliberately dropped.
    public var connectionResets = 0
    /// Requests answered code 401.
    public var unauthorized = 0
    /// Requests answered 400/422 (bad body, missing field, Ratio error, unknown task).
    public var validationErrors = 0
    /// Creates answered 402.
    public var insufficientCredits = 0
    /// Requests answered 404.
    public var notFound = 0
    /// Status calls answered 404 within `statusLag` of the task's create.
    public var statusLagAnswers = 0
    /// Status calls answered 501/408 for a task with a status fault.
    public var statusFaults = 0
    /// Status calls answered with a running job's answer (Veo 4K's 422 "4k is processing").
    public var processingAnswers = 0
    /// Chat calls answered (streamed or not).
    public var chatAnswers = 0

    /// The balance now (reservations of running tasks deducted).
    public var creditsRemaining: Int64 = 0
    /// Credits consumed by succeeded tasks.
    public var creditsConsumed: Int64 = 0

    public init() {}

    /// Tasks accepted, all models.
    public var tasksCreatedTotal: Int { tasksCreated.values.reduce(0, +) }
}
