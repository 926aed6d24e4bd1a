import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// `errors [WINDOW]`: failed API calls grouped by code with what to do about each (`KieCode`'s
/// table), and webhooks kiewatch refused. Counts come from the rollups; only the
/// exact "last seen" of each code reads raw rows, one minute of them.
extension ConsoleCommands {
    func errors(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 1)
        _ = try arguments.filters(allowed: [])
        let window = try ConsoleArguments.window(arguments.positional.first, default: 3_600_000)
        let (from, to) = ConsoleQueries.minutes(window: window, now: context.now)

        var groups: [String: ErrorGroup] = [:]
        for row in try queries.callErrors(fromMinute: from, toMinute: to) {
            var group = groups[row.code] ?? ErrorGroup(code: row.code)
            group.count += row.errors
            group.lastMinute = max(group.lastMinute, row.lastMinute)
            group.byModel[row.model.isEmpty ? row.endpoint : row.model, default: 0] += row.errors
            groups[row.code] = group
        }
        var ordered = groups.values.sorted { ($0.count, $1.code) > ($1.count, $0.code) }
        for index in ordered.indices {
            ordered[index].lastSeen = try queries.lastFailure(code: ordered[index].code, inMinute: ordered[index].lastMinute)
                ?? ordered[index].lastMinute * 60_000
        }

        let refusedResults: [WebhookResult] = [.unauthorized, .malformed, .unknownTask]
        var refused: [String: ErrorGroup] = [:]
        for row in try queries.webhookRollups(fromMinute: from, toMinute: to)
        where refusedResults.map(\.rawValue).contains(row.result) {
            var group = refused[row.result] ?? ErrorGroup(code: row.result)
            group.count += row.deliveries
            group.lastMinute = max(group.lastMinute, row.lastMinute)
            group.byModel[row.model.isEmpty ? "(unknown model)" : row.model, default: 0] += row.deliveries
            refused[row.result] = group
        }
        let refusedOrdered = refusedResults.compactMap { refused[$0.rawValue] }

        var calls = TableRenderer(columns: [
            .init("CODE", alignment: .left), .init("COUNT"), .init("LAST SEEN", alignment: .right),
            .init("MEANING", alignment: .left), .init("MODELS", alignment: .left), .init("FIX", alignment: .left),
        ])
        for group in ordered {
            calls.addRow([
                .init(group.code, tone: .bad), .init(HumanFormat.count(group.count)),
                .init(HumanFormat.age(of: group.lastSeen, now: context.now)), .init(Self.meaning(group.code)),
                .init(group.modelsText), .init(KieCode.hint(forLabel: group.code)),
            ])
        }
        var hooks = TableRenderer(columns: [
            .init("RESULT", alignment: .left), .init("COUNT"), .init("LAST SEEN", alignment: .right),
            .init("MODELS", alignment: .left), .init("FIX", alignment: .left),
        ])
        for group in refusedOrdered {
            hooks.addRow([
                .init(group.code, tone: .bad), .init(HumanFormat.count(group.count)),
                .init(HumanFormat.age(of: group.lastMinute * 60_000, now: context.now)), .init(group.modelsText),
                .init(Self.webhookHint(group.code)),
            ])
        }
        let span = ConsoleText.window(window)
        let text = ConsoleText.sections([
            ordered.isEmpty ? "no failed API calls in the last \(span)"
                : "failed API calls, last \(span), by code\n" + context.render(calls),
            refusedOrdered.isEmpty ? "no refused webhooks in the last \(span)"
                : "refused webhooks, last \(span)\n" + context.render(hooks),
        ])
        return ConsoleOutput(
            json: [
                "command": "errors", "window_ms": .int(window),
                "from": .int(from * 60_000), "to": .int(to * 60_000),
                "api_errors": .array(ordered.map { group in
                    ["code": .string(group.code), "count": .int(group.count), "last_seen": .int(group.lastSeen),
                     "meaning": .string(Self.meaning(group.code)), "fix": .string(KieCode.hint(forLabel: group.code)),
                     "models": group.modelsJSON]
                }),
                "webhook_refusals": .array(refusedOrdered.map { group in
                    ["result": .string(group.code), "count": .int(group.count),
                     "last_minute": .int(group.lastMinute * 60_000), "fix": .string(Self.webhookHint(group.code)),
                     "models": group.modelsJSON]
                }),
            ],
            text: text)
    }

    static func meaning(_ label: String) -> String {
        switch label {
        case "error": return "upstream unreachable"
        case "timeout": return "upstream timed out"
        default: return Int(label).map { KieCode.lookup($0).meaning } ?? "-"
        }
    }

    static func webhookHint(_ result: String) -> String {
        switch result {
        case WebhookResult.unauthorized.rawValue:
            return "the callback's secret or signature is wrong: check KIE_CALLBACK_SECRET (and KIE_WEBHOOK_HMAC_KEY)"
        case WebhookResult.malformed.rawValue:
            return "a body kiewatch could not read: inspect it with `webhooks result=malformed`"
        case WebhookResult.unknownTask.rawValue:
            return "callbacks for tasks kiewatch never saw created: does the app call Kie directly?"
        default:
            return "-"
        }
    }
}

/// Failures of one code (or one webhook result) over a window.
struct ErrorGroup {
    var code: String
    var count: Int64 = 0
    var lastMinute: Int64 = .min
    var lastSeen: EpochMillis = 0
    /// Count per model (or per endpoint for calls without a model).
    var byModel: [String: Int64] = [:]

    /// Most affected first: `veo3 12, kling-2.6/text-to-video 3`.
    var modelsText: String {
        sortedModels.map { "\($0.key) \(HumanFormat.count($0.value))" }.joined(separator: ", ")
    }

    var modelsJSON: JSONValue {
        .object(sortedModels.map { (key: $0.key, value: .int($0.value)) })
    }

    private var sortedModels: [(key: String, value: Int64)] {
        byModel.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { (key: $0.key, value: $0.value) }
    }
}
