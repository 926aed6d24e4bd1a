import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// `relay` (the outbox of callbacks owed to the app) and `credits` (what the account has
/// left, from the agent's last credit check, and which models spent it, from `task_rollup`).
extension ConsoleCommands {
    func relay(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        if let action = try RelayAction(arguments) { return try offlineRelay(action) }
        try arguments.expectPositional(max: 0)
        let filters = try arguments.filters(allowed: ["limit"])
        let limit = try ConsoleArguments.limit(filters["limit"], default: 50)
        let now = context.now
        let backlog = try queries.relayBacklog()
        let pending = try queries.pendingRelays(limit: limit)
        let gaveUp = try queries.gaveUpRelays(since: now - 86_400_000, limit: 10)

        func table(_ rows: [RelayRow], pending: Bool) -> TableRenderer {
            var table = TableRenderer(columns: [
                .identifier("ID", alignment: .right), .identifier("TASK"), .init("URL", alignment: .left), .init("ATTEMPTS"),
                .init(pending ? "NEXT" : "QUEUED", alignment: .right), .init("LAST RESULT", alignment: .left),
                .init("KIND", alignment: .left),
            ])
            for row in rows {
                table.addRow([
                    .init(String(row.id)), .init(row.taskID), .init(row.redactedURL), .init(String(row.attempts)),
                    .init(HumanFormat.age(of: pending ? row.nextAttemptAt : row.createdAt, now: now)),
                    .init(Self.lastResult(row), tone: row.lastError == nil && row.lastStatus.map { $0 < 300 } ?? true
                          ? .plain : .bad),
                    .init(row.synthesized ? "recovered" : "callback"),
                ])
            }
            return table
        }
        var summary = ConsoleText.plural(backlog.count, "pending relay")
        if let oldest = backlog.oldest { summary += ", oldest queued \(HumanFormat.age(of: oldest, now: now))" }
        if let next = backlog.nextAttempt { summary += ", next attempt \(HumanFormat.age(of: next, now: now))" }
        summary += "; \(ConsoleText.plural(gaveUp.count, "relay")) given up in the last 24h"
        let pause = try reader.relayPause()
        if let pause {
            summary += "\n" + Self.pauseText(pause, now: now)
        }
        let circuits = actions?.relayCircuits() ?? []
        let text = ConsoleText.sections([
            summary,
            circuits.isEmpty ? "" : "destinations failing (circuit breaker)\n" + context.render(Self.table(circuits, now: now)),
            pending.isEmpty ? "" : "pending, next attempt first\n" + context.render(table(pending, pending: true))
                + (backlog.count > Int64(pending.count) ? "\n(showing \(pending.count); add limit=N)" : ""),
            gaveUp.rows.isEmpty ? "" : "given up (last 24h, newest first)\n" + context.render(table(gaveUp.rows, pending: false)),
        ])
        return ConsoleOutput(
            json: ["command": "relay", "pending": .int(backlog.count), "oldest_pending_at": JSONValue(backlog.oldest),
                   "next_attempt_at": JSONValue(backlog.nextAttempt), "gave_up_24h": .int(gaveUp.count),
                   "pending_items": .array(pending.map(Self.json)), "gave_up_items": .array(gaveUp.rows.map(Self.json)),
                   "paused": .bool(pause != nil), "paused_since": JSONValue(pause?.since),
                   "paused_until": JSONValue(pause?.until), "circuits": .array(circuits.map(Self.json))],
            text: text)
    }

    /// The pause switch in one line (`relay`, `status`).
    static func pauseText(_ pause: RelayPause, now: EpochMillis) -> String {
        var text = "PAUSED since \(HumanFormat.timestamp(ms: pause.since)) (\(HumanFormat.age(of: pause.since, now: now)))"
        if let until = pause.until {
            text += until > now
                ? ", until \(HumanFormat.timestamp(ms: until)) (\(HumanFormat.age(of: until, now: now)))"
                : ", ended \(HumanFormat.age(of: until, now: now)): resuming"
        } else {
            text += ", until `relay resume`"
        }
        return text + "; deliveries are held, their give-up clocks stopped"
    }

    private static func table(_ circuits: [RelayCircuitSnapshot], now: EpochMillis) -> TableRenderer {
        var table = TableRenderer(columns: [
            .init("DESTINATION", alignment: .left), .init("CIRCUIT", alignment: .left), .init("FAILURES"),
            .init("NEXT PROBE", alignment: .right), .init("HELD"), .init("LAST ERROR", alignment: .left),
        ])
        for circuit in circuits {
            let state = circuit.isOpen ? (circuit.probing ? "open, probing" : "open") : "closed"
            table.addRow([
                .init(circuit.destination), .init(state, tone: circuit.isOpen ? .bad : .warning),
                .init(String(circuit.consecutiveFailures)),
                .init(circuit.probing ? "now" : circuit.nextProbeAt.map { HumanFormat.age(of: $0, now: now) } ?? "-"),
                .init(String(circuit.held)), .init(ConsoleText.url(circuit.lastError ?? "-")),
            ])
        }
        return table
    }

    private static func json(_ circuit: RelayCircuitSnapshot) -> JSONValue {
        [
            "destination": .string(circuit.destination), "open": .bool(circuit.isOpen), "probing": .bool(circuit.probing),
            "consecutive_failures": .int(Int64(circuit.consecutiveFailures)), "opened_at": JSONValue(circuit.openedAt),
            "next_probe_at": JSONValue(circuit.nextProbeAt), "held": .int(Int64(circuit.held)),
            "last_error": JSONValue(circuit.lastError.map(URLRedaction.redact)),
        ]
    }

    private static func lastResult(_ row: RelayRow) -> String {
        if row.attempts == 0 { return "not tried yet" }
        var text = row.lastStatus.map { "HTTP \($0)" } ?? "no answer"
        if let error = row.lastError { text += ": " + ConsoleText.url(error) }
        return text
    }

    private static func json(_ row: RelayRow) -> JSONValue {
        [
            "id": .int(row.id), "task_id": .string(row.taskID), "url": .string(row.redactedURL),
            "synthesized": .bool(row.synthesized), "created_at": .int(row.createdAt),
            "next_attempt_at": .int(row.nextAttemptAt), "attempts": .int(Int64(row.attempts)),
            "state": .string(row.state), "last_status": JSONValue(row.lastStatus),
            "last_error": JSONValue(row.lastError.map(URLRedaction.redact)), "delivered_at": JSONValue(row.deliveredAt),
        ]
    }

    // MARK: credits

    func credits(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 1)
        _ = try arguments.filters(allowed: [])
        let window = try ConsoleArguments.window(arguments.positional.first, default: 86_400_000)
        let now = context.now
        let remaining = try queries.meta(ConsoleMetaKey.creditsRemaining)
        let (from, to) = ConsoleQueries.minutes(window: window, now: now)
        let consumed = try queries.creditsConsumed(fromMinute: from, toMinute: to)
        var table = TableRenderer(columns: [.init("MODEL", alignment: .left), .init("TASKS FINISHED"), .init("CREDITS")])
        for row in consumed {
            table.addRow([row.model, HumanFormat.count(row.tasks), Self.number(row.credits)])
        }
        let total = consumed.reduce(0) { $0 + $1.credits }
        let head = "remaining: " + (remaining.map {
            "\($0.value) (checked \(HumanFormat.age(of: $0.updatedAt, now: now)))" } ?? "unknown (no credit check yet)")
        let text = ConsoleText.sections([
            head + "\nconsumed by tasks finished in the last \(ConsoleText.window(window)): \(Self.number(total))",
            table.rows.isEmpty ? "" : context.render(table),
        ])
        return ConsoleOutput(
            json: ["command": "credits", "window_ms": .int(window),
                   "remaining": JSONValue(remaining.flatMap { Double($0.value) }),
                   "checked_at": JSONValue(remaining?.updatedAt), "consumed": .double(total),
                   "by_model": .array(consumed.map { row in
                       ["model": .string(row.model), "tasks_finished": .int(row.tasks), "credits": .double(row.credits)]
                   })],
            text: text)
    }
}
