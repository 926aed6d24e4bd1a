import KieWatchCore
import KieWatchRuntime
import KieWatchStore

/// The on-call actions on the outbox: `replay TASK`, `relay retry`, `relay pause`/`resume`.
///
/// Each decides against the committed state inside one write (so two consoles asking at
/// once cannot queue two copies), records itself in `actions` (who, what, how many) with the
/// tasks it touched in `action_tasks`, and, when it queued something, lets open circuits probe
/// at once (`RelayCircuitBreaker.probeSoon`) and wakes the worker. None
/// ever queues a second pending relay for a task: a task's result goes out at most once more
/// per action, however often it is repeated.
extension RelayWorker {
    /// Stands for the actor of every action asked through `AgentActions` (the console).
    static let console = ConsoleActionActor.adminSocket

    // MARK: replay

    /// Queues the task's final result for the app once more. The body is the last callback
    /// recorded for the task (with Kie's signing headers as received); when none ever came,
    /// `poll` asks Kie now and the answer is sent in Kie's callback shape, like a recovery.
    func replay(
        taskID: String, pollingEnabled: Bool,
        poll: @Sendable (TaskRecord) async -> (TaskWrites.PollResult, APICallRecord)?
    ) async throws -> ReplayReport {
        let (stored, callbacks, pending) = try await reads.run {
            try self.reader.withLock { r in
                (try r.task(id: taskID), try r.webhooks(taskID: taskID), try r.pendingRelay(taskID: taskID))
            }
        }
        guard let task = stored else { return ReplayReport(taskID: taskID, result: .unknownTask) }
        var report = ReplayReport(taskID: taskID, model: task.model, result: .queued)
        guard let url = task.callbackURL else {
            report.result = .noCallbackURL
            return report
        }
        if let pending, let id = pending.id {
            return try await recordAlreadyPending(report, pendingID: id, at: context.clock.now())
        }
        var relay = RelayOutboxItem(taskID: taskID, url: url, body: [], replayed: true, createdAt: 0)
        var call: APICallRecord?
        if let callback = Self.finalCallback(callbacks, taskIsTerminal: task.state.isTerminal) {
            relay.body = callback.body
            relay.headers = TaskWrites.relayHeaders(timestamp: callback.signatureTimestamp, signature: callback.signature)
            report.source = .callback
        } else {
            guard task.state.isTerminal else {
                report.result = .notFinished
                report.detail = "state \(task.state.rawValue)"
                return report
            }
            guard pollingEnabled else {
                report.result = .recoveryOff
                report.detail = "no callback was received and KIE_API_KEY is not set: the agent cannot ask Kie"
                return report
            }
            guard let (result, pollCall) = await poll(task) else {
                report.result = .error
                report.detail = "the agent is stopping"
                return report
            }
            call = pollCall
            switch result {
            case .terminal(let status, let data):
                relay.body = context.scrubber.scrub(SynthesizedCallback.body(for: status, statusData: data).serializedBytes())
                relay.synthesized = true
                report.source = .statusPoll
            case .running(let status):
                report.result = .stillRunning
                report.detail = "Kie says \(status.state.rawValue)"
            case .notFound:
                report.result = .notFound
                report.detail = "Kie has no such task (recordInfo is null)"
            case .error(let message):
                report.result = .error
                report.detail = message
            }
            if report.result != .queued {
                let recorded = pollCall
                _ = try await context.writer.write { ctx in try ctx.insert(recorded) }
                context.metrics.observe(recorded)
                return report
            }
        }

        let now = context.clock.now()
        relay.createdAt = now
        relay.nextAttemptAt = now
        relay.windowStartAt = now
        let queued = relay
        let recordedCall = call
        let source = report.source
        let outcome = try await context.writer.write { ctx -> (queued: Bool, id: Int64) in
            if let recordedCall { try ctx.insert(recordedCall) }
            if let pending = try ctx.pendingRelay(taskID: taskID), let id = pending.id {
                try Self.recordReplay(ctx, taskID: taskID, outboxID: id, count: 0,
                                      detail: "not queued: relay #\(id) already pending", at: now)
                return (false, id)
            }
            let id = try ctx.enqueueRelay(queued)
            let from = source == .statusPoll ? "built from a status poll" : "the recorded callback"
            try Self.recordReplay(ctx, taskID: taskID, outboxID: id, count: 1, detail: "queued relay #\(id) (\(from))", at: now)
            return (true, id)
        }
        if let call { context.metrics.observe(call) }
        report.outboxID = outcome.id
        guard outcome.queued else {
            report.result = .alreadyPending
            return report
        }
        breaker.probeSoon(now: now)
        context.relayWakeup.signal()
        context.logger.info(
            "relay.replay_queued",
            ["task": taskID, "relay": String(outcome.id), "source": source?.rawValue ?? "-", "by": Self.console.rawValue])
        return report
    }

    /// The callback a replay sends: the last one recorded for the task that reached a
    /// terminal state (a task may get several callbacks, Suno's text/first/complete), else,
    /// for a finished task, the last one recorded at all.
    static func finalCallback(_ callbacks: [WebhookRecord], taskIsTerminal: Bool) -> WebhookRecord? {
        let recorded = callbacks.filter { [.accepted, .duplicate, .late].contains($0.result) }
        return recorded.last { $0.state?.isTerminal ?? false } ?? (taskIsTerminal ? recorded.last : nil)
    }

    private func recordAlreadyPending(_ report: ReplayReport, pendingID: Int64, at now: EpochMillis) async throws
        -> ReplayReport
    {
        let taskID = report.taskID
        try await context.writer.write { ctx in
            try Self.recordReplay(ctx, taskID: taskID, outboxID: pendingID, count: 0,
                                  detail: "not queued: relay #\(pendingID) already pending", at: now)
        }
        var report = report
        report.result = .alreadyPending
        report.outboxID = pendingID
        return report
    }

    private static func recordReplay(
        _ ctx: WriteContext, taskID: String, outboxID: Int64, count: Int, detail: String, at now: EpochMillis
    ) throws {
        let action = try ctx.insert(ConsoleActionRecord(
            ts: now, actor: console, action: .replay, target: "replay \(taskID)", count: count, detail: detail))
        try ctx.link(action: action, taskID: taskID, outboxID: outboxID)
    }

    // MARK: relay retry

    /// `relay retry ID`: puts one given-up relay back, due now with a new give-up window.
    func retry(relayID: Int64) async throws -> RelayRetryReport {
        let now = context.clock.now()
        let target = "relay retry #\(relayID)"
        let report = try await context.writer.write { ctx -> RelayRetryReport in
            guard let item = try ctx.relay(id: relayID) else { return RelayRetryReport(target: target, result: .unknownRelay) }
            var report = RelayRetryReport(target: target, result: .retried, taskID: item.taskID)
            let detail: String
            switch item.state {
            case .pending:
                report.result = .alreadyPending
                report.pendingID = relayID
                detail = "not put back: relay #\(relayID) is pending already"
            case .delivered:
                report.result = .delivered
                detail = "not put back: relay #\(relayID) was delivered"
            case .gaveUp:
                if let pending = try ctx.pendingRelay(taskID: item.taskID), let id = pending.id {
                    report.result = .taskHasPending
                    report.pendingID = id
                    detail = "not put back: relay #\(id) of the task is pending"
                } else {
                    try ctx.requeueRelay(id: relayID, at: now)
                    report.retried = 1
                    detail = "put relay #\(relayID) back in the outbox"
                }
            }
            let action = try ctx.insert(ConsoleActionRecord(
                ts: now, actor: Self.console, action: .relayRetry, target: target, count: report.retried, detail: detail))
            try ctx.link(action: action, taskID: item.taskID, outboxID: relayID)
            return report
        }
        if report.retried > 0 {
            breaker.probeSoon(now: now)
            context.relayWakeup.signal()
            context.logger.info("relay.retried", ["relay": String(relayID), "count": "1", "by": Self.console.rawValue])
        }
        return report
    }

    /// `relay retry gave_up [since=] [model=]`: puts the newest given-up relay of each matching
    /// task back (none for a task with a relay pending or delivered since), in batches of 500
    /// so the writer keeps serving callbacks in between. Without `confirmed`, only counts.
    func retryGivenUp(_ selection: GivenUpRelaySelection, target: String, confirmed: Bool) async throws -> RelayRetryReport {
        let counts = try await reads.run { try self.reader.withLock { try $0.givenUpRelayCounts(selection) } }
        var report = RelayRetryReport(
            target: target, result: confirmed ? .retried : .preview, givenUp: Int(counts.givenUp),
            retried: confirmed ? 0 : Int(counts.retryable))
        guard confirmed else { return report }
        let now = context.clock.now()
        let actionID = try await context.writer.write { ctx in
            try ctx.insert(ConsoleActionRecord(
                ts: now, actor: Self.console, action: .relayRetry, target: target, count: 0,
                detail: "put back in the outbox"))
        }
        let batchSize = 500
        var after = Int64.min
        while true {
            let cursor = after
            let batch = try await context.writer.write { ctx -> [(id: Int64, taskID: String)] in
                let rows = try ctx.retryableRelays(selection, after: cursor, limit: batchSize)
                for row in rows {
                    try ctx.requeueRelay(id: row.id, at: now)
                    try ctx.link(action: actionID, taskID: row.taskID, outboxID: row.id)
                }
                if !rows.isEmpty { try ctx.addToAction(id: actionID, count: rows.count) }
                return rows
            }
            guard let last = batch.last else { break }
            report.retried += batch.count
            after = last.id
            breaker.probeSoon(now: now)
            context.relayWakeup.signal()
            if batch.count < batchSize { break }
        }
        context.logger.info(
            "relay.retried", ["target": target, "count": String(report.retried), "by": Self.console.rawValue])
        return report
    }

    // MARK: relay pause, relay resume

    /// Holds every delivery from now, for `millis` or until resumed. A pause during a pause
    /// replaces its end and keeps its start (the give-up clocks stop for the whole of it).
    func pause(forMillis millis: Int64?) async throws -> RelayPauseReport {
        let now = context.clock.now()
        let until = millis.map { now.saturatingAdding($0) }
        let target = "relay pause" + (millis.map { " " + DurationText.format(millis: $0) } ?? "")
        let (pause, pending) = try await context.writer.write { ctx -> (RelayPause, Int) in
            let previous = try ctx.relayPause()
            let pause = RelayPause(since: previous?.since ?? now, until: until)
            try ctx.setRelayPause(pause)
            let pending = try ctx.pendingRelayCount()
            try ctx.insert(ConsoleActionRecord(
                ts: now, actor: Self.console, action: .relayPause, target: target, count: pending,
                detail: previous == nil ? "deliveries held" : "already paused: its end changed"))
            return (pause, pending)
        }
        pauseState.withLock { $0 = pause }
        context.metrics.relayPaused.labels().set(1)
        context.logger.warn(
            "relay.paused",
            ["until": until.map(String.init) ?? "resume", "pending": String(pending), "by": Self.console.rawValue])
        return RelayPauseReport(paused: true, since: pause.since, until: pause.until, pending: pending, changed: true)
    }

    /// `relay resume`: delivers again; each pending relay's give-up window moves forward by the
    /// part of the pause it waited through.
    func resume() async throws -> RelayPauseReport {
        try await resume(at: context.clock.now(), by: Self.console, onlyIfEnded: false)
    }

    /// A timed pause that has run out ends by itself (recorded as the agent's).
    func endTimedPause(at now: EpochMillis) async {
        do {
            _ = try await resume(at: now, by: .agent, onlyIfEnded: true)
        } catch {
            context.storeFailed("relay resume", error)
        }
    }

    private func resume(at now: EpochMillis, by actor: ConsoleActionActor, onlyIfEnded: Bool) async throws
        -> RelayPauseReport
    {
        let (pause, released, ended) = try await context.writer.write { ctx -> (RelayPause?, Int, RelayPause?) in
            guard let stored = try ctx.relayPause() else {
                if !onlyIfEnded {
                    try ctx.insert(ConsoleActionRecord(
                        ts: now, actor: actor, action: .relayResume, target: "relay resume", count: 0,
                        detail: "was not paused"))
                }
                return (nil, 0, nil)
            }
            // A new `relay pause` got in first: it stands.
            if onlyIfEnded, stored.holds(at: now) { return (stored, 0, nil) }
            let released = try ctx.shiftPendingRelayWindows(pausedAt: stored.since, resumedAt: now)
            try ctx.setRelayPause(nil)
            try ctx.insert(ConsoleActionRecord(
                ts: now, actor: actor, action: .relayResume, target: actor == .agent ? "pause ended" : "relay resume",
                count: released, detail: "paused for \(DurationText.format(millis: max(0, now - stored.since)))"))
            return (nil, released, stored)
        }
        pauseState.withLock { $0 = pause }
        context.metrics.relayPaused.labels().set(pause == nil ? 0 : 1)
        if let ended {
            breaker.probeSoon(now: now)
            context.relayWakeup.signal()
            context.logger.info(
                "relay.resumed",
                ["paused_for": DurationText.format(millis: max(0, now - ended.since)), "pending": String(released),
                 "by": actor.rawValue])
        }
        return RelayPauseReport(
            paused: pause != nil, since: pause?.since, until: pause?.until, pending: released, changed: ended != nil)
    }
}
