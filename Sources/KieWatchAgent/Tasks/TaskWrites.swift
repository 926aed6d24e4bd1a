import KieWatchCore
import KieWatchStore

/// The agent's domain writes, each run atomically inside one `StoreWriter.write` closure so
/// that concurrent callbacks, status answers and recovery polls for the same task are decided
/// one after another against the committed state.
enum TaskWrites {

    // MARK: Create

    /// Commits the callback route of a create before it is forwarded: from then on a callback
    /// to the route's URL finds the app, whatever happens to the create answer.
    static func recordRoute(_ ctx: WriteContext, route: CallbackRoute) throws {
        try ctx.insert(route)
    }

    /// Stores a newly created task with its create call and binds its route (`token`) to the
    /// task id. Returns whether the task row is new: it is not when a callback that came
    /// before the create answer already created it from the route (and counted it).
    static func recordCreate(
        _ ctx: WriteContext, task: TaskRecord, route token: String?, call: APICallRecord
    ) throws -> Bool {
        try ctx.insert(call)
        if let token { try ctx.bindRoute(token: token, taskID: task.taskID) }
        return try ctx.insertIfAbsent(task)
    }

    /// Records a create Kie refused (no task id) and deletes its route: no callback will come.
    static func recordRefusedCreate(_ ctx: WriteContext, route token: String, call: APICallRecord) throws {
        try ctx.insert(call)
        try ctx.deleteUnboundRoute(token: token)
    }

    // MARK: Status answers passing through the proxy

    struct StatusOutcome: Sendable {
        var model: String?
        var task: TaskRecord?
        var transition = TaskLifecycle.Transition()
        /// Kie said the callback failed (Luma's flag 4): the webhook was counted missed now and
        /// a synthesized callback queued.
        var missed = false
    }

    /// Records a status call and moves the task along with what the answer says. An answer
    /// saying Kie's callback failed (Luma's flag 4) counts the missed webhook at once and
    /// relays a synthesized callback, as recovery would at the deadline.
    static func recordStatus(
        _ ctx: WriteContext, report: TaskReport?, taskID: String?, call: APICallRecord, statusData: JSONValue = .null,
        scrubber: SecretScrubber? = nil, now: EpochMillis
    ) throws -> StatusOutcome {
        var call = call
        var outcome = StatusOutcome()
        if let id = report?.taskId ?? taskID, let stored = try ctx.task(id: id) {
            var task = stored
            if let report {
                outcome.transition = TaskLifecycle.apply(report, to: &task, source: .proxy, now: now)
                if report.callbackFailed, task.owesCallback, let scrubber {
                    try recordMissed(ctx, task: &task, report: report, statusData: statusData, scrubber: scrubber, now: now)
                    outcome.missed = true
                }
                if outcome.transition.changed || outcome.missed { try ctx.save(task, replacing: stored) }
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
        /// No such task, and no route that names its app: recorded, not relayed.
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

    struct CallbackRecorded: Sendable {
        var outcome: CallbackOutcome
        /// The task row this callback created from its route (it came before the create
        /// answer was stored): counted as created here, and never again by the create answer.
        var created: TaskRecord?
    }

    /// Records an authenticated, well-formed callback and decides what it means; the row holds
    /// the result the caller counts, so metric, row and rollup agree, and the balance it
    /// reports is stored in the same transaction (so in callback commit order).
    ///
    /// `route` is the token of the URL it came to. When the task is not stored yet (the callback
    /// raced the create answer, or that answer was never stored) and the route is free or
    /// bound to this task, the task row is created from the route (its app URL, model and
    /// create time) and the callback is accepted and relayed like any first callback.
    static func recordCallback(
        _ ctx: WriteContext, report: TaskReport, webhook: WebhookRecord, relayHeaders: String, route token: String?,
        deadline: (String) -> Int64, now: EpochMillis
    ) throws -> CallbackRecorded {
        if let credits = report.creditsRemaining { try CreditTracker.record(balance: credits, in: ctx) }
        var row = webhook
        var created: TaskRecord?
        let route = try token.flatMap { try ctx.route(token: $0) }.flatMap { $0.family == webhook.family ? $0 : nil }
        // The task the callback's URL names (a 4K request, not its parent, though both carry
        // the parent's id), else the one its body names.
        var trackedID = report.taskId
        if let bound = route?.taskID, TaskFamily.kieTaskID(tracked: bound) == report.taskId { trackedID = bound }
        var found = try ctx.task(id: trackedID)
        if found == nil, let route, route.taskID == nil || route.taskID == trackedID {
            let task = TaskRecord(
                taskID: trackedID, family: route.family, model: route.model, createdAt: route.createdAt,
                callbackURL: route.callbackURL, expectsCallback: true,
                deadlineAt: route.createdAt + deadline(route.model))
            try ctx.save(task, replacing: nil)
            if route.taskID == nil { try ctx.bindRoute(token: route.token, taskID: trackedID) }
            created = task
            found = task
        }
        guard let stored = found else {
            row.result = .unknownTask
            try ctx.insert(row)
            return CallbackRecorded(outcome: .unknownTask, created: nil)
        }
        var task = stored
        row.taskID = task.taskID
        let outcome: CallbackOutcome
        if let kind = report.callbackKind, task.family.callbacks.progress.contains(kind) {
            // One of several callbacks (Suno's `text`, `first`): relayed once per kind, never a
            // duplicate of another kind; the final one is counted as every family's is.
            task.lastCallbackAt = now
            if task.callbackKinds.contains(kind) || task.callbacksReceived > 0 || task.recoveredAt != nil {
                outcome = .duplicate(task)
            } else {
                _ = TaskLifecycle.apply(report, to: &task, source: .callback, now: now)
                task.callbackKinds.append(kind)
                let relayed = try relay(ctx, task: task, body: webhook.body, headers: relayHeaders, now: now)
                outcome = .accepted(task, relayed: relayed, finished: false)
            }
        } else if task.callbacksReceived > 0 || task.recoveredAt != nil {
            // The first callback is accepted and relayed even when the app already learned the
            // result by polling: the app asked for a callback. Later ones are duplicates, or late
            // when recovery got there first.
            task.callbacksReceived += 1
            task.lastCallbackAt = now
            outcome = task.callbacksReceived == 1 ? .late(task) : .duplicate(task)
        } else {
            let transition = TaskLifecycle.apply(report, to: &task, source: .callback, now: now)
            task.callbacksReceived += 1
            task.lastCallbackAt = now
            let relayed = try relay(ctx, task: task, body: webhook.body, headers: relayHeaders, now: now)
            outcome = .accepted(task, relayed: relayed, finished: transition.becameTerminal)
        }
        try ctx.save(task, replacing: stored)
        row.result = outcome.result
        row.model = row.model ?? task.model
        if let completed = task.completedAt, outcome.result == .accepted {
            row.delayMillis = max(0, now.saturatingSubtracting(completed))
        }
        try ctx.insert(row)
        return CallbackRecorded(outcome: outcome, created: created)
    }

    /// Queues the callback as received for the app's URL, when the task has one.
    private static func relay(_ ctx: WriteContext, task: TaskRecord, body: [UInt8], headers: String, now: EpochMillis)
        throws -> Bool
    {
        guard let url = task.callbackURL else { return false }
        try ctx.enqueueRelay(RelayOutboxItem(taskID: task.taskID, url: url, body: body, headers: headers, createdAt: now))
        return true
    }

    /// An authenticated callback on a route the agent issued that it cannot read as the
    /// family's callback (a new shape, a state or kind the table does not know): stored as it
    /// came (`unparsed`) and relayed unchanged to the route's app, which would have got it
    /// without the agent. The task's state is left alone, so recovery still finds it if no
    /// readable callback comes.
    static func recordUnparsed(
        _ ctx: WriteContext, webhook: WebhookRecord, relayHeaders: String, route: CallbackRoute, now: EpochMillis
    ) throws -> UnparsedRecorded {
        var row = webhook
        row.result = .unparsed
        let task = try route.taskID.flatMap { try ctx.task(id: $0) }
        if let stored = task, stored.callbackKinds.count < TaskRecord.maxCallbackKinds {
            // Unread, but a callback the app gets: recovery must not count it missed. Bounded:
            // a sender repeating unreadable bodies cannot grow the row.
            var updated = stored
            updated.callbackKinds.append(TaskRecord.unparsedKind)
            updated.lastCallbackAt = now
            try ctx.save(updated, replacing: stored)
        }
        row.taskID = route.taskID ?? row.taskID
        row.model = task?.model ?? route.model
        let url = task?.callbackURL ?? route.callbackURL
        // A route not bound yet names no task: its relays are ordered among themselves.
        let relayTask = row.taskID ?? "route:" + route.token.prefix(8)
        try ctx.enqueueRelay(
            RelayOutboxItem(taskID: relayTask, url: url, body: webhook.body, headers: relayHeaders, createdAt: now))
        try ctx.insert(row)
        return UnparsedRecorded(model: row.model ?? route.model)
    }

    struct UnparsedRecorded: Sendable {
        /// The model of the route's task, for the metric.
        var model: String
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
            // A callback the agent relayed unread may have been this one: not missed then.
            outcome.missed = task.expectsCallback && !task.mayHaveHadItsFinalCallback
            if outcome.missed {
                try recordMissed(ctx, task: &task, report: report, statusData: statusData, scrubber: scrubber, now: now)
            } else {
                task.recoveredAt = now
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
            if let next = cadence.nextPoll(
                startedAt: task.deadlineAt ?? now, now: now, minimumInterval: task.family.minimumPollIntervalMillis)
            {
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

    /// The task's callback is missed: marked recovered and missed, and the callback Kie would
    /// have sent, in the family's shape (`SynthesizedCallback`), queued for the app.
    private static func recordMissed(
        _ ctx: WriteContext, task: inout TaskRecord, report: TaskReport, statusData: JSONValue,
        scrubber: SecretScrubber, now: EpochMillis
    ) throws {
        task.recoveredAt = now
        task.missed = true
        guard let url = task.callbackURL else { return }
        let body = scrubber.scrub(SynthesizedCallback.body(for: report, statusData: statusData).serializedBytes())
        try ctx.enqueueRelay(RelayOutboxItem(taskID: task.taskID, url: url, body: body, synthesized: true, createdAt: now))
    }
}
