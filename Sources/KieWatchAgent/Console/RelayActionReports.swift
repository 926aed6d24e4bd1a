import KieWatchCore

/// What one `replay TASK` did.
public struct ReplayReport: Sendable, Equatable {
    /// The header that marks a replayed delivery to the app.
    public static let header = "X-KieWatch-Replayed"

    public enum Result: String, Sendable {
        /// A relay of the result was queued for the app (`outboxID`).
        case queued
        /// The task already has a relay pending (`outboxID`): no second copy is queued.
        case alreadyPending = "already_pending"
        /// kiewatch has no row for this task id.
        case unknownTask = "unknown_task"
        /// The app gave no callback URL for this task: there is nowhere to send it.
        case noCallbackURL = "no_callback_url"
        /// The task has not finished as far as kiewatch knows (`sync ID` polls Kie for it).
        case notFinished = "not_finished"
        /// No callback was received and the status poll says the task is still running.
        case stillRunning = "still_running"
        /// No callback was received and Kie has no such task.
        case notFound = "not_found"
        /// No callback was received and the agent cannot poll Kie (no `KIE_API_KEY`).
        case recoveryOff = "recovery_off"
        /// The status poll failed (`detail` says how).
        case error
    }

    /// Where the replayed body came from.
    public enum Source: String, Sendable {
        /// The last callback Kie delivered for the task, as recorded.
        case callback
        /// A fresh status poll, in Kie's callback shape (no callback was ever received).
        case statusPoll = "status_poll"
    }

    public var taskID: String
    public var model: String?
    public var result: Result
    public var source: Source?
    public var outboxID: Int64?
    public var detail: String?

    public init(
        taskID: String, model: String? = nil, result: Result, source: Source? = nil, outboxID: Int64? = nil,
        detail: String? = nil
    ) {
        self.taskID = taskID
        self.model = model
        self.result = result
        self.source = source
        self.outboxID = outboxID
        self.detail = detail
    }
}

/// What `relay retry ID` or `relay retry gave_up` did (or, without `--yes`, would do).
public struct RelayRetryReport: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// Given-up relays were put back in the outbox (`retried` of them).
        case retried
        /// A bulk retry without `--yes`: nothing changed; `retried` is how many it would put back.
        case preview
        /// The relay is pending already: nothing to put back.
        case alreadyPending = "already_pending"
        /// The relay was delivered (`replay TASK` sends a result again).
        case delivered = "already_delivered"
        /// The relay's task has another relay pending (`pendingID`): no second copy.
        case taskHasPending = "task_has_pending"
        /// No relay with this id.
        case unknownRelay = "unknown_relay"
    }

    /// What was asked: `#12`, or `gave_up` with its filters.
    public var target: String
    public var result: Result
    /// Given-up relays the selection matched (bulk).
    public var givenUp: Int
    /// Relays put back (or, for a preview, that would be).
    public var retried: Int
    /// The task of a single relay.
    public var taskID: String?
    /// The pending relay that stood in the way.
    public var pendingID: Int64?

    public init(
        target: String, result: Result, givenUp: Int = 0, retried: Int = 0, taskID: String? = nil,
        pendingID: Int64? = nil
    ) {
        self.target = target
        self.result = result
        self.givenUp = givenUp
        self.retried = retried
        self.taskID = taskID
        self.pendingID = pendingID
    }
}

/// The relay's pause switch after `relay pause` or `relay resume`.
public struct RelayPauseReport: Sendable, Equatable {
    /// Deliveries are held.
    public var paused: Bool
    /// When deliveries were first held.
    public var since: EpochMillis?
    /// When the agent resumes by itself (nil: at `relay resume`).
    public var until: EpochMillis?
    /// Pending relays held (pause) or released (resume).
    public var pending: Int
    /// False when nothing changed (a resume while delivering).
    public var changed: Bool

    public init(paused: Bool, since: EpochMillis? = nil, until: EpochMillis? = nil, pending: Int, changed: Bool) {
        self.paused = paused
        self.since = since
        self.until = until
        self.pending = pending
        self.changed = changed
    }
}

/// One relay destination's circuit, as `relay` shows it.
public struct RelayCircuitSnapshot: Sendable, Equatable {
    /// `scheme://host:port`.
    public var destination: String
    public var isOpen: Bool
    /// A probe is under way.
    public var probing: Bool
    public var consecutiveFailures: Int
    public var openedAt: EpochMillis?
    public var nextProbeAt: EpochMillis?
    /// Relays held since it opened.
    public var held: Int
    public var lastError: String?

    public init(
        destination: String, isOpen: Bool, probing: Bool = false, consecutiveFailures: Int, openedAt: EpochMillis? = nil,
        nextProbeAt: EpochMillis? = nil, held: Int = 0, lastError: String? = nil
    ) {
        self.destination = destination
        self.isOpen = isOpen
        self.probing = probing
        self.consecutiveFailures = consecutiveFailures
        self.openedAt = openedAt
        self.nextProbeAt = nextProbeAt
        self.held = held
        self.lastError = lastError
    }
}
