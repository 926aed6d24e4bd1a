import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The task-centred commands: `tasks` (list), `task ID` (timeline), `stale` (stuck now) and
/// `missed` (callbacks that never came).
extension ConsoleCommands {
    // MARK: tasks

    func tasks(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 0)
        let filters = try arguments.filters(allowed: ["model", "state", "since", "limit"])
        let window = try ConsoleArguments.window(filters["since"], default: 3_600_000)
        let limit = try ConsoleArguments.limit(filters["limit"], default: 20)
        var states: [String]?
        if let state = filters["state"]?.lowercased() {
            if state == "open" {
                states = TaskState.allCases.filter { !$0.isTerminal }.map(\.rawValue)
            } else if let known = TaskState(rawValue: state) {
                states = [known.rawValue]
            } else {
                throw ConsoleCommandError("unknown state '\(state)' (use open, "
                    + TaskState.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
        }
        let now = context.now
        let tasks = try queries.tasks(since: now - window, model: filters["model"], states: states, limit: limit)
        var table = TableRenderer(columns: [
            .identifier("TASK"), .init("MODEL", alignment: .left), .init("STATE", alignment: .left),
            .init("CREATED", alignment: .right), .init("DURATION", alignment: .right), .init("CALLBACK", alignment: .left),
            .init("SOURCE", alignment: .left),
        ])
        for task in tasks {
            table.addRow([
                .init(task.taskID), .init(task.model), .init(Self.stateText(task, now: now), tone: Self.tone(task, now: now)),
                .init(HumanFormat.age(of: task.createdAt, now: now)), .init(Self.durationText(task, now: now)),
                .init(Self.callbackText(task)), .init(task.resultSource?.rawValue ?? "-"),
            ])
        }
        let description = "tasks created in the last \(ConsoleText.window(window))"
            + (filters["model"].map { ", model \($0)" } ?? "") + (filters["state"].map { ", state \($0)" } ?? "")
        let text = tasks.isEmpty ? "no \(description)"
            : context.render(table) + "\n" + "\(ConsoleText.plural(Int64(tasks.count), "task")), newest first"
                + (tasks.count == limit ? " (limit \(limit) reached; add limit=N or narrow the filters)" : "")
        return ConsoleOutput(
            json: ["command": "tasks", "window_ms": .int(window), "limit": .int(Int64(limit)),
                   "tasks": .array(tasks.map { Self.json($0, now: now) })],
            text: text)
    }

    // MARK: task ID

    func task(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        guard arguments.words.count == 1, let id = arguments.words.first else {
            throw ConsoleCommandError(arguments.words.isEmpty ? "task needs a task id" : "task takes exactly one task id")
        }
        let now = context.now
        let record = try reader.task(id: id)
        let relays = try queries.relays(taskID: id)
        let timeline = TaskTimeline(
            task: record, calls: try queries.calls(taskID: id), webhooks: try queries.webhooks(taskID: id),
            recoveries: try queries.recoveries(taskID: id),
            relays: try relays.map { ($0, try queries.attempts(outboxID: $0.id)) }, actions: try reader.actions(taskID: id),
            now: now)
        guard !timeline.isEmpty else {
            throw ConsoleCommandError(
                "no task '\(ConsoleText.clean(id))' in the store (unknown id, or older than the retention)", usage: "")
        }
        var pairs: [(String, String)] = [("task", id)]
        if let task = record {
            pairs += [
                ("model", "\(task.model) (\(task.family.rawValue))"),
                ("state", Self.stateText(task, now: now)
                    + (task.resultSource.map { ", learned via \($0.rawValue)" } ?? "")),
                ("created", "\(HumanFormat.timestamp(ms: task.createdAt)) (\(HumanFormat.age(of: task.createdAt, now: now)))"),
                ("duration", Self.durationText(task, now: now)),
                ("callback", task.expectsCallback
                    ? "\(ConsoleText.url(task.callbackURL)), \(Self.callbackText(task))" : "none (the app polls)"),
                ("deadline", task.deadlineAt.map { deadline in
                    HumanFormat.timestamp(ms: deadline) + (deadline <= now && !task.state.isTerminal
                        ? " (\(HumanFormat.duration(ms: now - deadline)) ago: stale)" : "")
                } ?? "-"),
                ("recovery", ConsoleText.plural(Int64(task.recoveryAttempts), "poll")
                    + (task.nextPollAt.map { !task.state.isTerminal ? ", next \(HumanFormat.age(of: $0, now: now))" : "" } ?? "")
                    + (task.recoveryGaveUpAt.map { ", gave up \(HumanFormat.age(of: $0, now: now))" } ?? "")),
            ]
            if task.failCode != nil || task.failMessage != nil {
                pairs.append(("failure", [task.failCode, task.failMessage].compactMap { $0 }.joined(separator: ": ")))
            }
            if let credits = task.creditsConsumed { pairs.append(("credits", Self.number(credits))) }
        } else {
            pairs.append(("state", "not a task kiewatch saw created (only calls or callbacks mention it)"))
        }
        var table = TableRenderer(columns: [
            .init("TIME", alignment: .left), .init("+", alignment: .right), .init("EVENT", alignment: .left),
            .init("DETAIL", alignment: .left),
        ])
        let origin = record?.createdAt ?? timeline.events.first?.ts ?? now
        for event in timeline.events {
            table.addRow([
                .init(HumanFormat.timestamp(ms: event.ts)), .init(Self.offset(event.ts - origin)),
                .init(event.kind, tone: event.tone), .init(event.detail),
            ])
        }
        var json: [(key: String, value: JSONValue)] = [("command", "task"), ("task_id", .string(id))]
        json.append(("task", record.map { Self.json($0, now: now) } ?? .null))
        json.append(("timeline", .array(timeline.events.map { event in
            ["ts": .int(event.ts), "event": .string(event.kind), "detail": .string(event.detail)]
        })))
        return ConsoleOutput(
            json: .object(json),
            text: ConsoleText.block(pairs) + "\n\n" + context.render(table))
    }

    // MARK: stale

    func stale(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 0)
        let filters = try arguments.filters(allowed: ["limit"])
        let limit = try ConsoleArguments.limit(filters["limit"], default: 50)
        let now = context.now
        let summary = try queries.staleSummary(now: now)
        let tasks = try queries.staleTasks(now: now, limit: limit)
        var table = TableRenderer(columns: [
            .identifier("TASK"), .init("MODEL", alignment: .left), .init("STATE", alignment: .left),
            .init("AGE", alignment: .right), .init("PAST DEADLINE", alignment: .right), .init("POLLS"),
            .init("NEXT POLL", alignment: .right), .init("GAVE UP", alignment: .right),
        ])
        for task in tasks {
            let past = now - (task.deadlineAt ?? now)
            table.addRow([
                .init(task.taskID), .init(task.model), .init(task.state.rawValue),
                .init(HumanFormat.duration(ms: now - task.createdAt)),
                .init(HumanFormat.duration(ms: past), tone: .warning), .init(String(task.recoveryAttempts)),
                .init(task.recoveryGaveUpAt == nil ? ConsoleText.age(task.nextPollAt ?? task.deadlineAt, now: now) : "-"),
                .init(task.recoveryGaveUpAt.map { HumanFormat.age(of: $0, now: now) } ?? "-",
                      tone: task.recoveryGaveUpAt == nil ? .plain : .bad),
            ])
        }
        let text: String
        if tasks.isEmpty {
            text = "no stale tasks: every task expecting a callback is within its deadline or done"
        } else {
            var footer = ConsoleText.plural(summary.count, "stale task") + ", oldest deadline first"
            if summary.count > Int64(tasks.count) { footer += " (showing \(tasks.count); add limit=N)" }
            if let actions {
                footer += actions.statusSnapshot().recoveryEnabled
                    ? ". `sync stale` polls them now" : ". recovery is off (no KIE_API_KEY): they are only reported"
            }
            text = context.render(table) + "\n" + footer
        }
        return ConsoleOutput(
            json: ["command": "stale", "count": .int(summary.count),
                   "tasks": .array(tasks.map { Self.json($0, now: now) })],
            text: text)
    }

    // MARK: missed

    func missed(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 1)
        _ = try arguments.filters(allowed: [])
        let window = try ConsoleArguments.window(arguments.positional.first, default: 86_400_000)
        let now = context.now
        let (from, to) = ConsoleQueries.minutes(window: window, now: now)
        let perModel = try reader.taskRollups(fromMinute: from, toMinute: to).filter { $0.missed > 0 }
            .sorted { ($0.missed, $1.model) > ($1.missed, $0.model) }
        let total = perModel.reduce(0) { $0 + $1.missed }
        let recent = try queries.missedTasks(since: from * 60_000, limit: 50)
        let lastWebhook = try queries.lastTimestamp("webhooks")
        var table = TableRenderer(columns: [
            .identifier("TASK"), .init("MODEL", alignment: .left), .init("STATE", alignment: .left),
            .init("CREATED", alignment: .right), .init("RECOVERED", alignment: .right), .init("LATE CALLBACK", alignment: .left),
        ])
        for (recoveredAt, task) in recent {
            table.addRow([
                .init(task.taskID), .init(task.model), .init(task.state.rawValue, tone: ConsoleText.stateTone(task.state)),
                .init(HumanFormat.age(of: task.createdAt, now: now)), .init(HumanFormat.age(of: recoveredAt, now: now)),
                .init(task.callbacksReceived > 0 ? "arrived later" : "never"),
            ])
        }
        let span = ConsoleText.window(window)
        var lines = ["missed webhooks, last \(span): \(HumanFormat.count(total))"
            + (perModel.isEmpty ? "" : " (" + perModel.map { "\($0.model) \(HumanFormat.count($0.missed))" }
                .joined(separator: ", ") + ")")]
        lines.append("last webhook received: " + (lastWebhook.map {
            "\(HumanFormat.timestamp(ms: $0)) (\(HumanFormat.age(of: $0, now: now)))" } ?? "never"))
        let text = ConsoleText.sections([
            lines.joined(separator: "\n"),
            recent.isEmpty ? "" : "recovered by polling, newest first\n" + context.render(table),
        ])
        return ConsoleOutput(
            json: [
                "command": "missed", "window_ms": .int(window), "total": .int(total),
                "by_model": .object(perModel.map { (key: $0.model, value: .int($0.missed)) }),
                "last_webhook_at": JSONValue(lastWebhook),
                "tasks": .array(recent.map { recoveredAt, task in
                    var json = Self.json(task, now: now)
                    if case .object(var members) = json {
                        members.append((key: "recovered_at", value: .int(recoveredAt)))
                        json = .object(members)
                    }
                    return json
                }),
            ],
            text: text)
    }

    // MARK: Shared

    static func stateText(_ task: TaskRecord, now: EpochMillis) -> String {
        if !task.state.isTerminal, task.expectsCallback, let deadline = task.deadlineAt, deadline <= now {
            return task.state.rawValue + " (stale)"
        }
        return task.state.rawValue
    }

    static func tone(_ task: TaskRecord, now: EpochMillis) -> TableRenderer.Tone {
        if !task.state.isTerminal, task.expectsCallback, let deadline = task.deadlineAt, deadline <= now {
            return .warning
        }
        return ConsoleText.stateTone(task.state)
    }

    /// Create → terminal (Kie's completion time when known), or "running 3m05s".
    static func durationText(_ task: TaskRecord, now: EpochMillis) -> String {
        if task.state.isTerminal {
            guard let end = task.completedAt ?? task.finishedAt else { return "-" }
            return HumanFormat.duration(ms: end - task.createdAt)
        }
        return "running " + HumanFormat.duration(ms: now - task.createdAt)
    }

    static func callbackText(_ task: TaskRecord) -> String {
        guard task.expectsCallback else { return "none" }
        if task.callbacksReceived > 0 {
            return task.callbacksReceived == 1 ? "received" : "received \(task.callbacksReceived)x"
        }
        return task.missed ? "missed" : "waiting"
    }

    static func offset(_ ms: Int64) -> String {
        ms >= 0 ? "+" + HumanFormat.duration(ms: ms) : HumanFormat.duration(ms: ms)
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A task as JSON: every column, the callback URL redacted.
    static func json(_ task: TaskRecord, now: EpochMillis) -> JSONValue {
        [
            "task_id": .string(task.taskID), "family": .string(task.family.rawValue), "model": .string(task.model),
            "state": .string(task.state.rawValue),
            "stale": .bool(!task.state.isTerminal && task.expectsCallback && (task.deadlineAt.map { $0 <= now } ?? false)),
            "created_at": .int(task.createdAt), "updated_at": .int(task.updatedAt),
            "completed_at": JSONValue(task.completedAt), "finished_at": JSONValue(task.finishedAt),
            "callback_url": task.callbackURL.map { .string(URLRedaction.redact($0)) } ?? .null,
            "expects_callback": .bool(task.expectsCallback), "deadline_at": JSONValue(task.deadlineAt),
            "last_callback_at": JSONValue(task.lastCallbackAt), "callbacks_received": .int(Int64(task.callbacksReceived)),
            "recovered_at": JSONValue(task.recoveredAt), "recovery_attempts": .int(Int64(task.recoveryAttempts)),
            "next_poll_at": JSONValue(task.nextPollAt), "recovery_gave_up_at": JSONValue(task.recoveryGaveUpAt),
            "result_source": JSONValue(task.resultSource?.rawValue), "fail_code": JSONValue(task.failCode),
            "fail_msg": JSONValue(task.failMessage), "credits_consumed": JSONValue(task.creditsConsumed),
            "missed": .bool(task.missed),
        ]
    }
}
