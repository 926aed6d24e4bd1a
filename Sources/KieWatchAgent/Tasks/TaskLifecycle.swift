import KieWatchCore
import KieWatchStore

/// The one place where what Kie reports moves a stored task along its lifecycle, whichever
/// way the report arrived (callback, status answer through the proxy, recovery poll).
enum TaskLifecycle {
    struct Transition: Equatable {
        /// The task moved to a later state.
        var changed = false
        /// The task reached success or fail with this report.
        var becameTerminal = false
    }

    /// Applies `report` to `task`: states only move forward, a terminal state is final, and
    /// terminal details (completion time, failure, credits) are taken from the report.
    static func apply(_ report: TaskReport, to task: inout TaskRecord, source: ResultSource, now: EpochMillis)
        -> Transition
    {
        if task.model == unknownModel, let model = report.model { task.model = model }
        guard task.state.canAdvance(to: report.state) else { return Transition() }
        task.state = report.state
        task.updatedAt = now
        guard report.state.isTerminal else { return Transition(changed: true) }
        task.completedAt = report.completedAt ?? task.completedAt
        task.finishedAt = now
        task.resultSource = source
        task.failCode = report.failCode
        task.failMessage = report.failMessage
        if let credits = report.creditsConsumed { task.creditsConsumed = credits }
        task.nextPollAt = nil
        return Transition(changed: true, becameTerminal: true)
    }

    /// The model of a task whose create request named none (and no report did since).
    static let unknownModel = "unknown"

    /// Milliseconds from create to terminal (Kie's completion time when it reported one), for
    /// `kiewatch_task_duration_seconds` and the learned deadlines; nil while running, and when
    /// the times disagree (an end before the create, or a difference beyond Int64).
    static func durationMillis(_ task: TaskRecord) -> Int64? {
        guard task.state.isTerminal else { return nil }
        let end = task.completedAt ?? task.finishedAt ?? task.updatedAt
        let (duration, overflow) = end.subtractingReportingOverflow(task.createdAt)
        guard !overflow, duration >= 0 else { return nil }
        return duration
    }

    /// `durationMillis` in seconds.
    static func durationSeconds(_ task: TaskRecord) -> Double? {
        durationMillis(task).map { Double($0) / 1000 }
    }
}

extension TaskRecord {
    /// The app asked for a callback and has neither received one nor a recovered one: even a
    /// task whose result the app learned by polling still owes it.
    var owesCallback: Bool {
        expectsCallback && callbacksReceived == 0 && recoveredAt == nil && !mayHaveHadItsFinalCallback
    }

    /// The `callbackKinds` entry of a callback the agent relayed without reading it.
    static let unparsedKind = "unparsed"

    /// At most this many entries in `callbackKinds` (more than any family's kinds).
    static let maxCallbackKinds = 8

    /// Callbacks the agent could not read (`unparsed`) came for the task, as many as the task
    /// gets (one, or Suno's three with the kinds read): the app has had its final callback,
    /// unread by the agent, so recovery neither counts it missed nor sends another.
    var mayHaveHadItsFinalCallback: Bool {
        callbackKinds.contains(Self.unparsedKind) && callbackKinds.count >= max(1, family.callbacks.kinds.count)
    }
}
