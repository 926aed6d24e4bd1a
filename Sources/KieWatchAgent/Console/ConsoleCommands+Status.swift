import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The keys under which the agent keeps console-visible facts in the `meta` table.
/// The agent writes them; `status` and `credits` read them (offline too).
package enum ConsoleMetaKey {
    /// Last known credit balance (a number as text), from `GET /api/v1/chat/credit`.
    package static let creditsRemaining = "credits_remaining"
}

extension ConsoleCommands {
    // MARK: help

    func help(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 1)
        if let topic = arguments.positional.first {
            guard let spec = ConsoleCommandSpec.named(topic.lowercased()), spec.name != ConsoleCommandSpec.completionCommand
            else {
                throw ConsoleCommandError("help: unknown command '\(topic)'", usage: "help [COMMAND]")
            }
            return ConsoleOutput(
                json: ["command": "help", "commands": [Self.json(spec)]],
                text: spec.forms.map { "usage: \($0.usage)\n\($0.summary)\nexample: \($0.example)" }
                    .joined(separator: "\n\n"))
        }
        var table = TableRenderer(columns: [.init("COMMAND", alignment: .left), .init("WHAT IT ANSWERS", alignment: .left),
                                            .init("EXAMPLE", alignment: .left)])
        for form in ConsoleCommandSpec.all.flatMap(\.forms) {
            table.addRow([form.usage, form.summary, form.example])
        }
        let footer = "WINDOW is a duration (15m, 1h, 24h). Add --json to any command for JSON. "
            + "`help COMMAND` shows one command."
        return ConsoleOutput(
            json: ["command": "help", "commands": .array(ConsoleCommandSpec.all.map(Self.json))],
            text: context.render(table) + "\n\n" + footer)
    }

    private static func json(_ spec: ConsoleCommandSpec) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(spec.name)), ("usage", .string(spec.usage)), ("summary", .string(spec.summary)),
            ("example", .string(spec.example)),
        ]
        if !spec.more.isEmpty {
            members.append(("forms", .array(spec.more.map { form in
                ["usage": .string(form.usage), "summary": .string(form.summary), "example": .string(form.example)]
            })))
        }
        return .object(members)
    }

    // MARK: status

    func status(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 0)
        _ = try arguments.filters(allowed: [])
        let now = context.now
        let snapshot = actions?.statusSnapshot()
        let inFlight = try queries.inFlightCount()
        let stale = try queries.staleSummary(now: now)
        let relay = try queries.relayBacklog()
        let lastCall = try queries.lastTimestamp("api_calls")
        let lastWebhook = try queries.lastTimestamp("webhooks")
        let credits = try queries.meta(ConsoleMetaKey.creditsRemaining)
        let tables = ["api_calls", "webhooks", "tasks", "recoveries", "relay_outbox", "relay_attempts"]
        var counts: [(table: String, count: Int64, estimated: Bool)] = []
        for table in tables {
            let (count, estimated) = try queries.rowCount(table)
            counts.append((table, count, estimated))
        }
        let bytes = reader.databaseBytes

        var pairs: [(String, String)] = []
        var json: [(key: String, value: JSONValue)] = [("command", "status"), ("now", .int(now))]
        if let snapshot {
            pairs.append(("agent", "running, up \(HumanFormat.duration(ms: now - snapshot.startedAt)) "
                          + "(since \(HumanFormat.timestamp(ms: snapshot.startedAt))), kiewatch \(snapshot.version)"))
            pairs.append(("listen", "\(snapshot.listen) (public \(ConsoleText.url(snapshot.publicURL)))"))
            pairs.append(("upstream", "\(ConsoleText.url(snapshot.upstream)) (uploads \(ConsoleText.url(snapshot.uploadUpstream)))"))
            pairs.append(("admin socket", snapshot.adminSocket))
            pairs.append(("recovery", snapshot.recoveryEnabled
                          ? "on, at most \(Self.rate(snapshot.recoveryRatePerSecond)) polls/s"
                          : "off: KIE_API_KEY is not set, stale tasks are only reported"))
            pairs.append(("callbacks", (snapshot.callbackSecretConfigured ? "secret required" : "NO secret configured")
                          + ", signature check " + (snapshot.signatureCheckEnabled ? "on" : "off")))
            pairs.append(("connections", "\(snapshot.openConnections) open"))
            pairs.append(("create rate", "\(HumanFormat.percent(snapshot.createRateLimitUtilization)) of Kie's 20 per 10 s"))
            json += [
                ("agent", "running"), ("version", .string(snapshot.version)), ("started_at", .int(snapshot.startedAt)),
                ("uptime_ms", .int(now - snapshot.startedAt)), ("listen", .string(snapshot.listen)),
                ("public_url", .string(URLRedaction.redact(snapshot.publicURL))),
                ("upstream", .string(URLRedaction.redact(snapshot.upstream))),
                ("upload_upstream", .string(URLRedaction.redact(snapshot.uploadUpstream))),
                ("admin_socket", .string(snapshot.adminSocket)),
                ("recovery_enabled", .bool(snapshot.recoveryEnabled)),
                ("recovery_rate_per_second", .double(snapshot.recoveryRatePerSecond)),
                ("callback_secret_configured", .bool(snapshot.callbackSecretConfigured)),
                ("signature_check_enabled", .bool(snapshot.signatureCheckEnabled)),
                ("open_connections", .int(Int64(snapshot.openConnections))),
                ("create_rate_limit_utilization", .double(snapshot.createRateLimitUtilization)),
            ]
        } else {
            pairs.append(("agent", "offline: reading the database file only (no uptime, upstream or recovery facts)"))
            json.append(("agent", "offline"))
        }
        pairs.append(("database", "\(reader.path), \(HumanFormat.bytes(bytes))"))
        pairs.append(("rows", counts.map { "\($0.table) \($0.estimated ? "~" : "")\(HumanFormat.count($0.count))" }
            .joined(separator: ", ")))
        pairs.append(("in flight", ConsoleText.plural(inFlight, "task")))
        pairs.append(("stale", ConsoleText.plural(stale.count, "task")
                      + (stale.oldestDeadline.map { ", oldest \(HumanFormat.duration(ms: now - $0)) past its deadline" } ?? "")))
        pairs.append(("relay backlog", ConsoleText.plural(relay.count, "pending callback")
                      + (relay.oldest.map { ", oldest queued \(HumanFormat.age(of: $0, now: now))" } ?? "")))
        let pause = try reader.relayPause()
        let openCircuits = actions?.relayCircuits().filter(\.isOpen) ?? []
        pairs.append(("relay", (pause.map { Self.pauseText($0, now: now) } ?? "delivering")
                      + (openCircuits.isEmpty ? "" : "; circuit open for "
                         + openCircuits.map(\.destination).joined(separator: ", "))))
        pairs.append(("last API call", ConsoleText.age(lastCall, now: now)))
        pairs.append(("last webhook", ConsoleText.age(lastWebhook, now: now)))
        pairs.append(("credits", credits.map { "\($0.value) remaining (checked \(HumanFormat.age(of: $0.updatedAt, now: now)))" }
                      ?? "unknown (no credit check yet)"))
        json += [
            ("database", .string(reader.path)), ("database_bytes", .int(bytes)),
            ("rows", .object(counts.map { (key: $0.table, value: .int($0.count)) })),
            ("rows_estimated", .array(counts.filter(\.estimated).map { .string($0.table) })),
            ("in_flight", .int(inFlight)), ("stale", .int(stale.count)),
            ("oldest_stale_deadline", JSONValue(stale.oldestDeadline)),
            ("relay_pending", .int(relay.count)), ("relay_oldest_pending_at", JSONValue(relay.oldest)),
            ("relay_paused", .bool(pause != nil)), ("relay_paused_since", JSONValue(pause?.since)),
            ("relay_paused_until", JSONValue(pause?.until)),
            ("relay_circuits_open", .array(openCircuits.map { .string($0.destination) })),
            ("last_api_call_at", JSONValue(lastCall)), ("last_webhook_at", JSONValue(lastWebhook)),
            ("credits_remaining", JSONValue(credits.flatMap { Double($0.value) })),
            ("credits_checked_at", JSONValue(credits?.updatedAt)),
        ]
        return ConsoleOutput(json: .object(json), text: ConsoleText.block(pairs))
    }

    private static func rate(_ value: Double) -> String {
        value.rounded() == value ? String(Int64(value)) : String(value)
    }
}
