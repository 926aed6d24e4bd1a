import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The raw time series, newest first: `calls` and `webhooks`, each with filters that map
/// onto an index (`since` always; `model` through `(model, ts)`).
extension ConsoleCommands {
    func calls(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 0)
        let filters = try arguments.filters(allowed: ["model", "endpoint", "code", "since", "limit"])
        let window = try ConsoleArguments.window(filters["since"], default: 3_600_000)
        let limit = try ConsoleArguments.limit(filters["limit"], default: 20)
        if let endpoint = filters["endpoint"], KieEndpoint(rawValue: endpoint) == nil {
            throw ConsoleCommandError("unknown endpoint '\(endpoint)' (use "
                + KieEndpoint.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        if let code = filters["code"], Int(code) == nil, code != "error", code != "timeout" {
            throw ConsoleCommandError("code must be a number (e.g. 429), error or timeout; got '\(code)'")
        }
        let now = context.now
        let calls = try reader.calls(since: now - window, model: filters["model"], endpoint: filters["endpoint"],
                                     code: filters["code"], limit: limit)
        var table = TableRenderer(columns: [
            .init("TIME", alignment: .right), .init("ENDPOINT", alignment: .left), .init("MODEL", alignment: .left),
            .identifier("TASK"), .init("HTTP"), .init("CODE", alignment: .right), .init("LATENCY"),
            .init("OUTCOME", alignment: .left),
        ])
        for call in calls {
            let ok = call.outcome == .ok
            table.addRow([
                .init(HumanFormat.age(of: call.ts, now: now)), .init(call.endpoint.rawValue), .init(call.model ?? "-"),
                .init(call.taskID ?? "-"), .init(String(call.httpStatus)), .init(call.codeLabel, tone: ok ? .plain : .bad),
                .init(HumanFormat.duration(ms: call.latencyMicros / 1_000)),
                .init(call.outcome.rawValue + (call.error.map { ": " + ConsoleText.url($0) } ?? ""), tone: ok ? .plain : .bad),
            ])
        }
        let text = calls.isEmpty ? "no API calls in the last \(ConsoleText.window(window)) match"
            : context.render(table) + "\n" + Self.footer(calls.count, "call", limit: limit)
        return ConsoleOutput(
            json: ["command": "calls", "window_ms": .int(window), "limit": .int(Int64(limit)),
                   "calls": .array(calls.map { call in
                       [
                           "id": .int(call.id ?? 0), "ts": .int(call.ts), "endpoint": .string(call.endpoint.rawValue),
                           "model": JSONValue(call.model), "task_id": JSONValue(call.taskID),
                           "method": .string(call.method), "path": .string(call.path),
                           "http_status": .int(Int64(call.httpStatus)), "body_code": JSONValue(call.bodyCode),
                           "code": .string(call.codeLabel), "latency_us": .int(call.latencyMicros),
                           "outcome": .string(call.outcome.rawValue), "error": JSONValue(call.error.map(URLRedaction.redact)),
                       ]
                   })],
            text: text)
    }

    func webhooks(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 0)
        let filters = try arguments.filters(allowed: ["model", "result", "since", "limit"])
        let window = try ConsoleArguments.window(filters["since"], default: 3_600_000)
        let limit = try ConsoleArguments.limit(filters["limit"], default: 20)
        if let result = filters["result"], WebhookResult(rawValue: result) == nil {
            throw ConsoleCommandError("unknown result '\(result)' (use "
                + WebhookResult.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        let now = context.now
        let hooks = try reader.webhookRows(since: now - window, model: filters["model"], result: filters["result"],
                                            limit: limit)
        var table = TableRenderer(columns: [
            .init("TIME", alignment: .right), .init("FAMILY", alignment: .left), .identifier("TASK"),
            .init("MODEL", alignment: .left), .init("STATE", alignment: .left), .init("AUTH", alignment: .left),
            .init("RESULT", alignment: .left), .init("DELAY"),
        ])
        for hook in hooks {
            let good = hook.result == WebhookResult.accepted.rawValue
            table.addRow([
                .init(HumanFormat.age(of: hook.ts, now: now)), .init(hook.family), .init(hook.taskID ?? "-"),
                .init(hook.model ?? "-"), .init(hook.state ?? "-"),
                .init(hook.auth, tone: hook.auth == WebhookAuth.ok.rawValue || hook.auth == WebhookAuth.notConfigured.rawValue
                      ? .plain : .bad),
                .init(hook.result, tone: good ? .good : .bad), .init(ConsoleText.duration(hook.delayMillis)),
            ])
        }
        let text = hooks.isEmpty ? "no webhooks in the last \(ConsoleText.window(window)) match"
            : context.render(table) + "\n" + Self.footer(hooks.count, "webhook", limit: limit)
        return ConsoleOutput(
            json: ["command": "webhooks", "window_ms": .int(window), "limit": .int(Int64(limit)),
                   "webhooks": .array(hooks.map { hook in
                       [
                           "id": .int(hook.id), "ts": .int(hook.ts), "family": .string(hook.family),
                           "task_id": JSONValue(hook.taskID), "model": JSONValue(hook.model),
                           "state": JSONValue(hook.state), "auth": .string(hook.auth), "result": .string(hook.result),
                           "delay_ms": JSONValue(hook.delayMillis),
                       ]
                   })],
            text: text)
    }

    static func footer(_ count: Int, _ noun: String, limit: Int) -> String {
        ConsoleText.plural(Int64(count), noun) + ", newest first"
            + (count == limit ? " (limit \(limit) reached; add limit=N or since=WINDOW)" : "")
    }
}
