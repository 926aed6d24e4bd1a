import KieWatchCore
import KieWatchStore

/// The agent's domain writes, each run atomically inside one `StoreWriter.write` closure so
/// that concurrent callbacks, status answers and recovery polls for the same task are decided
/// one after another against the committed state.
enum TaskWrites {

    // MARK: Create

    struct CreateOutcome: Sendable {
        var task: TaskRecord
        /// A callback that had arrived before the create answer and is now matched.
        var earlyCallback: CallbackOutcome?
    }

    /// Stores a newly created task with its create call, and matches a callback that raced
    /// the create answer (kept as `unknown_task` until now).
    static func recordCreate(
        _ ctx: WriteContext, task: TaskRecord, call: APICallRecord, now: EpochMillis
    ) throws -> CreateOutcome {
        try ctx.insert(call)
        guard try ctx.insertIfAbsent(task) else {
            return CreateOutcome(task: try ctx.task(id: task.taskID) ?? task, earlyCallback: nil)
        }
        let early = try ctx.query(
            "SELECT id, family, body, signature_timestamp, signature FROM webhooks WHERE task_id = ?1 AND result = 'unknown_task' ORDER BY id LIMIT 1",
            [.text(task.taskID)])
        guard let row = early.first, case .blob(let body) = row[2] else {
            return CreateOutcome(task: task, earlyCallback: nil)
        }
        let family = row[1].string.flatMap(ModelFamily.init(rawValue:)) ?? task.family
        guard let envelope = KieEnvelope(body: body), let report = try? KieWire.callback(envelope, family: family) else {
            return CreateOutcome(task: task, earlyCallback: nil)
        }
        let headers = relayHeaders(timestamp: row[3].string, signature: row[4].string)
        let outcome = try applyCallback(ctx, report: report, body: body, relayHeaders: headers, now: now, record: nil)
        return CreateOutcome(task: try ctx.task(id: task.taskID) ?? task, earlyCallback: outcome)
    }

    // MARK: Status answers passing through the proxy

    struct StatusOutcome: Sendable {
        var model: String?
        var task: TaskRecord?
        var transition = TaskLifecycle.Transition()
    }

    /// Records a status call and moves the task along with what the answer says.
    static func recordStatus(
        _ ctx: WriteContext, report: TaskReport?, taskID: String?, call: APICallRecord, now: EpochMillis
    ) throws -> StatusOutcome {
        var call = call
        var outcome = StatusOutcome()
        if let id = report?.taskId ?? taskID, let stored = try ctx.task(id: id) {
            var task = stored
            if let report {
                outcome.transition = TaskLifecycle.apply(report, to: &task, source: .proxy, now: now)
                if outcome.transition.changed { try ctx.save(task, replacing: stored) }
            }
            outcome.task = task
            outcome.model = task.model
        } else {
            outcome.model = report?.model
        }
        call.model = call.model ?? outcome.model
        try ctx.insert(call)
        return outcome
    }

    // MARK: Callbacks

    enum CallbackOutcome: Sendable, Equatable {
        /// First delivery of the result: stored and queued for relay (when the app gave a URL);
        /// `finished` when this callback is how kiewatch learned the task ended.
        case accepted(TaskRecord, relayed: Bool, finished: Bool)
        /// The task was already terminal from an earlier callback.
        case duplicate(TaskRecord)
        /// The task was already recovered by polling; this real callback came too late.
        case late(TaskRecord)
        /// No such task yet (it may have raced the create answer); kept to match later.
        case unknownTask

        var task: TaskRecord? {
            switch self {
            case .accepted(let t, _, _), .duplicate(let t), .late(let t): t
            case .unknownTask: nil
            }
        }

        var result: WebhookResult {
            switch self {
            case .accepted: .accepted
            case .duplicate: .duplicate
            case .late: .late
            case .unknownTask: .unknownTask
            }
        }
    }

    /// Records an authenticated, well-formed callback and decides what it means.
    static func recordCallback(
        _ ctx: WriteContext, report: TaskReport, webhook: WebhookRecord, relayHeaders: String, now: EpochMillis
    ) throws -> CallbackOutcome {
        try applyCallback(ctx, report: report, body: webhook.body, relayHeaders: relayHeaders, now: now, record: webhook)
    }

    /// `record` is the delivery row to insert (nil when matching an early callback whose row exists).
    private static func applyCallback(
        _ ctx: WriteContext, report: TaskReport, body: [UInt8], relayHeaders: String, now: EpochMillis,
        record: WebhookRecord?
    ) throws -> CallbackOutcome {
        guard let stored = try ctx.task(id: report.taskId) else {
            if var row = record {
                row.result = .unknownTask
                try ctx.insert(row)
            }
            return .unknownTask
        }
        var task = stored
        // The first callback is accepted and relayed even when the app already learned the
        // result by polling: the app asked for a callback. Later ones are duplicates, or late
        // when recovery got there first.
        let outcome: CallbackOutcome
        if task.callbacksReceived > 0 || task.recoveredAt != nil {
            task.callbacksReceived += 1
            task.lastCallbackAt = now
            outcome = task.callbacksReceived == 1 ? .late(task) : .duplicate(task)
        } else {
            let transition = TaskLifecycle.apply(report, to: &task, source: .callback, now: now)
            task.callbacksReceived += 1
            task.lastCallbackAt = now
            var relayed = false
            if let url = task.callbackURL {
                try ctx.enqueueRelay(
                    RelayOutboxItem(taskID: task.taskID, url: url, body: body, headers: relayHeaders, createdAt: now))
                relayed = true
            }
            outcome = .accepted(task, relayed: relayed, finished: transition.becameTerminal)
        }
        try ctx.save(task, replacing: stored)
        if var row = record {
            row.result = outcome.result
            row.model = row.model ?? task.model
            if let completed = task.completedAt, outcome.result == .accepted { row.delayMillis = max(0, now - completed) }
            try ctx.insert(row)
        }
        return outcome
    }

    /// Kie's signing headers, passed on to the app with the relayed body.
    static func relayHeaders(timestamp: String?, signature: String?) -> String {
        var lines: [String] = []
        if let timestamp { lines.append("X-Webhook-Timestamp: \(timestamp)") }
        if let signature { lines.append("X-Webhook-Signature: \(signature)") }
        return lines.joined(separator: "\n")
    }

    // MARK: Recovery

    enum PollResult: Sendable {
        case terminal(TaskReport, statusData: JSONValue)
        case running(TaskReport)
        case notFound
        case error(String)
    }

    struct RecoveryOutcome: Sendable {
        var result: RecoveryResult?
        var task: TaskRecord?
        /// A missed webhook was counted (the task expected a callback and was recovered).
        var missed = false
        var gaveUp = false
        /// The poll is how kiewatch learned the task ended.
        var finished = false
    }

    /// Records one recovery poll: recovered tasks count a missed webhook and get a synthesized
    /// callback relayed; others get their next poll time (or are given up).
    static func recordRecovery(
        _ ctx: WriteContext, taskID: String, poll: PollResult, call: APICallRecord?, cadence: RecoveryCadence,
        scrubber: SecretScrubber, now: EpochMillis
    ) throws -> RecoveryOutcome {
        guard let stored = try ctx.task(id: taskID) else { return RecoveryOutcome() }
        var task = stored
        var call = call
        call?.model = task.model
        if let call { try ctx.insert(call) }
        // A callback got there first, or the task needs no callback and is done: nothing to
        // recover. A task the app polled to the end still owes its callback and is recovered.
        guard !task.state.isTerminal || task.owesCallback else { return RecoveryOutcome(task: task) }
        task.recoveryAttempts += 1
        var outcome = RecoveryOutcome()
        let detail: String?
        switch poll {
        case .terminal(var report, let statusData):
            // A 501/408 answer may carry no record: the callback still names the task's model.
            if report.model == nil, task.model != TaskLifecycle.unknownModel { report.model = task.model }
            outcome.finished = TaskLifecycle.apply(report, to: &task, source: .recovery, now: now).becameTerminal
            task.recoveredAt = now
            task.missed = task.expectsCallback
            outcome.missed = task.expectsCallback
            if task.expectsCallback, let url = task.callbackURL {
                let body = scrubber.scrub(SynthesizedCallback.body(for: report, statusData: statusData).serializedBytes())
                try ctx.enqueueRelay(
                    RelayOutboxItem(taskID: task.taskID, url: url, body: body, synthesized: true, createdAt: now))
            }
            outcome.result = .recovered
            detail = report.state.rawValue
        case .running(let report):
            _ = TaskLifecycle.apply(report, to: &task, source: .recovery, now: now)
            outcome.result = .stillRunning
            detail = report.state.rawValue
        case .notFound where cadence.isYoung(task, now: now):
            // Kie's create and status are not instantly consistent: not found yet, poll again.
            outcome.result = .stillRunning
            detail = "not found yet (created \((now - task.createdAt) / 1000)s ago)"
        case .notFound:
            outcome.result = .notFound
            detail = "recordInfo is null"
        case .error(let message):
            outcome.result = .error
            detail = message
        }
        if !task.state.isTerminal {
            if let next = cadence.nextPoll(startedAt: task.deadlineAt ?? now, now: now) {
                task.nextPollAt = next
            } else {
                task.nextPollAt = nil
                task.recoveryGaveUpAt = now
                outcome.gaveUp = true
            }
        }
        try ctx.save(task, replacing: stored)
        try ctx.insert(RecoveryRecord(ts: now, taskID: task.taskID, model: task.model, result: outcome.result ?? .error, detail: detail))
        outcome.task = task
        return outcome
    }
}
