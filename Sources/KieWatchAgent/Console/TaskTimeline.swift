import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// Everything kiewatch knows about one task, merged into one list ordered by time: the
/// answer to "what happened to task X" without opening five tables.
///
/// Sources: the task row's own milestones (created, Kie's completion, when kiewatch learned
/// it, the deadline, recovery giving up), every API call carrying the task id (the create and
/// each status poll, the app's or the agent's), every webhook delivery with its auth result,
/// every recovery poll, every relay to the app with each of its attempts, and every on-call
/// action that touched the task (`replay`, `relay retry`: who asked, what, with what outcome).
struct TaskTimeline {
    struct Event {
        var ts: EpochMillis
        /// Tie-break for equal times: the order the sources are listed in, so a create call
        /// recorded in the same millisecond as the task row still reads "created, create call".
        var rank: Int
        var kind: String
        var detail: String
        var tone: TableRenderer.Tone = .plain
    }

    var task: TaskRecord?
    var events: [Event]

    init(task: TaskRecord?, calls: [APICallRecord], webhooks: [WebhookRow], recoveries: [RecoveryRecord],
         relays: [(RelayRow, [RelayAttemptRecord])], actions: [TaskActionRecord] = [], now: EpochMillis) {
        self.task = task
        var events: [Event] = []
        if let task {
            events.append(Event(ts: task.createdAt, rank: 0, kind: "created",
                                detail: "\(task.model) (\(task.family.rawValue))"
                                    + (task.expectsCallback ? ", callback expected" : ", no callback URL")))
            if let completed = task.completedAt {
                events.append(Event(ts: completed, rank: 4, kind: "done at Kie", detail: task.state.rawValue,
                                    tone: ConsoleText.stateTone(task.state)))
            }
            if let finished = task.finishedAt {
                events.append(Event(ts: finished, rank: 5, kind: "learned",
                                    detail: "\(task.state.rawValue) via \(task.resultSource?.rawValue ?? "?")"
                                        + (task.missed ? " (webhook missed)" : ""),
                                    tone: ConsoleText.stateTone(task.state)))
            }
            if let deadline = task.deadlineAt, task.expectsCallback {
                let passed = deadline <= now
                events.append(Event(ts: deadline, rank: 7, kind: "deadline",
                                    detail: passed ? (task.state.isTerminal ? "passed" : "passed: task is stale")
                                        : "in \(HumanFormat.duration(ms: deadline - now))",
                                    tone: passed && !task.state.isTerminal ? .warning : .plain))
            }
            if let gaveUp = task.recoveryGaveUpAt {
                events.append(Event(ts: gaveUp, rank: 9, kind: "recovery gave up",
                                    detail: "after \(task.recoveryAttempts) polls", tone: .bad))
            }
        }
        for call in calls {
            let kind =
                call.endpoint.createsTask ? "create call" : call.endpoint.reportsStatus ? "status poll" : call.endpoint.rawValue
            var detail = "HTTP \(call.httpStatus)"
            if let code = call.bodyCode { detail += " code \(code)" }
            detail += " in \(HumanFormat.duration(ms: call.latencyMicros / 1_000))"
            if call.outcome != .ok { detail += " (\(call.outcome.rawValue))" }
            if let error = call.error { detail += ": \(ConsoleText.url(error))" }
            events.append(Event(ts: call.ts, rank: 1, kind: kind, detail: detail,
                                tone: call.outcome == .ok ? .plain : .bad))
        }
        for hook in webhooks {
            var detail = "\(hook.result), auth \(hook.auth)"
            if let state = hook.state { detail += ", state \(state)" }
            if let delay = hook.delayMillis { detail += ", \(HumanFormat.duration(ms: delay)) after Kie finished" }
            let good = hook.result == WebhookResult.accepted.rawValue
            events.append(Event(ts: hook.ts, rank: 2, kind: "callback", detail: detail,
                                tone: good ? .good : (hook.result == WebhookResult.duplicate.rawValue ? .plain : .bad)))
        }
        for recovery in recoveries {
            events.append(Event(ts: recovery.ts, rank: 3, kind: "recovery poll",
                                detail: recovery.result.rawValue + (recovery.detail.map { ": \(ConsoleText.url($0))" } ?? ""),
                                tone: recovery.result == .error ? .bad : .plain))
        }
        for record in actions {
            let action = record.action
            var detail = "\(ConsoleText.url(action.target)) by \(Self.actor(action.actor)): "
            detail += action.detail.map { ConsoleText.url($0) } ?? ConsoleText.plural(Int64(action.count), "relay")
            if action.count > 1 { detail += " (\(action.count) relays in all)" }
            events.append(Event(ts: action.ts, rank: 6, kind: "action", detail: detail,
                                tone: action.count > 0 ? .good : .plain))
        }
        for (relay, attempts) in relays {
            events.append(Event(ts: relay.createdAt, rank: 6, kind: "relay queued",
                                detail: "#\(relay.id) to \(relay.redactedURL)" + (relay.synthesized ? " (synthesized)" : "")))
            for (index, attempt) in attempts.enumerated() {
                var detail = "#\(relay.id) attempt \(index + 1): "
                detail += attempt.httpStatus.map { "HTTP \($0)" } ?? "no answer"
                if let error = attempt.error { detail += " (\(ConsoleText.url(error)))" }
                detail += " in \(HumanFormat.duration(ms: attempt.durationMicros / 1_000))"
                let ok = attempt.httpStatus.map { (200..<300).contains($0) } ?? false
                events.append(Event(ts: attempt.ts, rank: 6, kind: "relay attempt", detail: detail,
                                    tone: ok ? .good : .bad))
            }
            switch relay.state {
            case RelayState.pending.rawValue:
                events.append(Event(ts: relay.nextAttemptAt, rank: 8, kind: "relay next",
                                    detail: "#\(relay.id) next attempt " + HumanFormat.age(of: relay.nextAttemptAt, now: now)))
            case RelayState.gaveUp.rawValue:
                events.append(Event(ts: attempts.last?.ts ?? relay.nextAttemptAt, rank: 8, kind: "relay gave up",
                                    detail: "#\(relay.id) after \(relay.attempts) attempts", tone: .bad))
            default:
                break
            }
        }
        self.events = events.enumerated().sorted { a, b in
            (a.element.ts, a.element.rank, a.offset) < (b.element.ts, b.element.rank, b.offset)
        }.map(\.element)
    }

    var isEmpty: Bool { task == nil && events.isEmpty }

    static func actor(_ actor: ConsoleActionActor) -> String {
        switch actor {
        case .adminSocket: "admin socket"
        case .agent: "the agent"
        }
    }
}
