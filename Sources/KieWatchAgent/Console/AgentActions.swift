import KieWatchCore

/// What the running agent tells the console's `status` command beyond what the store holds.
public struct AgentStatusSnapshot: Sendable, Equatable {
    public var version: String
    public var startedAt: EpochMillis
    public var listen: String
    public var publicURL: String
    public var upstream: String
    public var uploadUpstream: String
    public var adminSocket: String
    public var databasePath: String
    /// Recovery needs `KIE_API_KEY`; without it stale tasks are only reported.
    public var recoveryEnabled: Bool
    public var recoveryRatePerSecond: Double
    public var callbackSecretConfigured: Bool
    public var signatureCheckEnabled: Bool
    public var openConnections: Int
    public var createRateLimitUtilization: Double

    public init(
        version: String, startedAt: EpochMillis, listen: String, publicURL: String, upstream: String,
        uploadUpstream: String, adminSocket: String, databasePath: String, recoveryEnabled: Bool,
        recoveryRatePerSecond: Double, callbackSecretConfigured: Bool, signatureCheckEnabled: Bool,
        openConnections: Int, createRateLimitUtilization: Double
    ) {
        self.version = version
        self.startedAt = startedAt
        self.listen = listen
        self.publicURL = publicURL
        self.upstream = upstream
        self.uploadUpstream = uploadUpstream
        self.adminSocket = adminSocket
        self.databasePath = databasePath
        self.recoveryEnabled = recoveryEnabled
        self.recoveryRatePerSecond = recoveryRatePerSecond
        self.callbackSecretConfigured = callbackSecretConfigured
        self.signatureCheckEnabled = signatureCheckEnabled
        self.openConnections = openConnections
        self.createRateLimitUtilization = createRateLimitUtilization
    }
}

/// What one `sync ID` (or one task of `sync stale`) did.
public struct SyncReport: Sendable, Equatable {
    public enum Result: String, Sendable {
        case recovered
        case stillRunning = "still_running"
        case notFound = "not_found"
        case error
        /// The task was already terminal: nothing to recover.
        case alreadyTerminal = "already_terminal"
        /// kiewatch has no row for this task id.
        case unknownTask = "unknown_task"
        /// No `KIE_API_KEY`: the agent cannot poll Kie.
        case recoveryOff = "recovery_off"
    }

    public var taskID: String
    public var model: String?
    public var result: Result
    /// The task's state after the poll.
    public var state: TaskState?
    public var detail: String?
    /// A missed webhook was counted for the model.
    public var missedCounted: Bool
    /// A synthesized callback was queued for the app.
    public var relayQueued: Bool

    public init(
        taskID: String, model: String? = nil, result: Result, state: TaskState? = nil, detail: String? = nil,
        missedCounted: Bool = false, relayQueued: Bool = false
    ) {
        self.taskID = taskID
        self.model = model
        self.result = result
        self.state = state
        self.detail = detail
        self.missedCounted = missedCounted
        self.relayQueued = relayQueued
    }
}

/// The live agent's side of the console: actions and facts a database file alone cannot give.
/// Offline mode (`kiewatch console --db PATH`) has none, and commands that need it say so.
public protocol AgentActions: Sendable {
    func statusSnapshot() -> AgentStatusSnapshot
    /// Polls Kie for one task now, through the same code path as the recovery scheduler.
    func sync(taskID: String) async -> SyncReport
    /// Polls every stale task now (still under the recovery rate limit).
    func syncStale(limit: Int) async -> [SyncReport]
    /// The current deadline of a model and how it was chosen.
    func deadline(for model: String) -> DeadlinePolicy.Choice

    // The on-call actions on the relay. Each one that acts is recorded (who, what, how many)
    // and shown in the timeline of every task it touched; store failures are thrown.

    /// Queues the task's final result for the app once more (`X-KieWatch-Replayed: true`):
    /// its last recorded callback, or, when none ever came, one built from a status poll now.
    func replay(taskID: String) async throws -> ReplayReport
    /// Puts one given-up relay back in the outbox.
    func retryRelay(id: Int64) async throws -> RelayRetryReport
    /// Puts the given-up relays (given up in the last `withinMillis`, of `model`'s tasks) back
    /// in the outbox, one per task; without `confirmed`, only counts them.
    func retryGivenUpRelays(withinMillis: Int64?, model: String?, confirmed: Bool) async throws -> RelayRetryReport
    /// Holds every delivery (they keep queueing, their give-up clocks stop) for `millis`, or
    /// until `resumeRelay` when nil.
    func pauseRelay(forMillis millis: Int64?) async throws -> RelayPauseReport
    func resumeRelay() async throws -> RelayPauseReport
    /// The destinations that failed since their last success, open circuits first.
    func relayCircuits() -> [RelayCircuitSnapshot]
}
