import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The commands that do more than read: `sync` (through the live agent), `sql` (a guarded
/// read of anything), and the completion request the interactive console sends on Tab.
extension ConsoleCommands {
    static let offlineSyncMessage = "sync needs the running agent: start `kiewatch serve` or use its admin socket"

    // MARK: sync

    /// `sync` without an agent: the arguments are still checked, then the one-line refusal.
    func offlineSync(_ arguments: ConsoleArguments) throws -> ConsoleOutput {
        guard let target = arguments.positional.first else {
            throw ConsoleCommandError("sync needs a task id or `stale`")
        }
        try arguments.expectPositional(max: 1)
        _ = try arguments.filters(allowed: target.lowercased() == "stale" ? ["limit"] : [])
        throw ConsoleCommandError(Self.offlineSyncMessage, usage: "")
    }

    func sync(_ arguments: ConsoleArguments, _ context: RenderContext) async throws -> ConsoleOutput {
        guard let target = arguments.positional.first else {
            throw ConsoleCommandError("sync needs a task id or `stale`")
        }
        try arguments.expectPositional(max: 1)
        let isStale = target.lowercased() == "stale"
        let filters = try arguments.filters(allowed: isStale ? ["limit"] : [])
        let limit = try ConsoleArguments.limit(filters["limit"], default: 100)
        guard let actions else { throw ConsoleCommandError(Self.offlineSyncMessage, usage: "") }
        let reports = isStale ? await actions.syncStale(limit: limit) : [await actions.sync(taskID: target)]

        var table = TableRenderer(columns: [
            .identifier("TASK"), .init("MODEL", alignment: .left), .init("RESULT", alignment: .left),
            .init("STATE", alignment: .left), .init("MISSED", alignment: .left), .init("RELAYED", alignment: .left),
            .init("DETAIL", alignment: .left),
        ])
        for report in reports {
            table.addRow([
                .init(report.taskID), .init(report.model ?? "-"),
                .init(report.result.rawValue, tone: report.result == .recovered ? .good
                      : report.result == .error || report.result == .recoveryOff ? .bad : .plain),
                .init(report.state?.rawValue ?? "-"), .init(report.missedCounted ? "counted" : "-"),
                .init(report.relayQueued ? "queued" : "-"), .init(ConsoleText.url(report.detail ?? "")),
            ])
        }
        var counts: [SyncReport.Result: Int] = [:]
        for report in reports { counts[report.result, default: 0] += 1 }
        let summary = isStale
            ? (reports.isEmpty ? "no stale tasks to poll"
               : "polled \(ConsoleText.plural(Int64(reports.count), "stale task")): "
                 + counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
                    .joined(separator: ", "))
            : ""
        let text = ConsoleText.sections([reports.isEmpty ? "" : context.render(table), summary])
        return ConsoleOutput(
            json: ["command": "sync", "target": .string(isStale ? "stale" : target),
                   "reports": .array(reports.map { report in
                       [
                           "task_id": .string(report.taskID), "model": JSONValue(report.model),
                           "result": .string(report.result.rawValue), "state": JSONValue(report.state?.rawValue),
                           "detail": JSONValue(report.detail.map(URLRedaction.redact)),
                           "missed_counted": .bool(report.missedCounted), "relay_queued": .bool(report.relayQueued),
                       ]
                   })],
            text: text)
    }

    // MARK: sql

    /// Limits of `sql`: the engineer's query shares the store with a live agent.
    static let sqlTimeLimitMillis = 2_000
    static let sqlMaxRows = 1_000

    func sql(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        let statement = arguments.raw
        guard !statement.isEmpty else { throw ConsoleCommandError("sql needs a statement, e.g. sql SELECT 1") }
        let result = try reader.readOnlyQuery(
            sql: statement, timeLimitMillis: Self.sqlTimeLimitMillis, maxRows: Self.sqlMaxRows)
        // Every cell is redacted: `SELECT callback_url FROM tasks` must not print an app's secret.
        let rows = result.rows.map { $0.map { $0.map(URLRedaction.redact) } }
        var table = TableRenderer(columns: result.columns.map { TableRenderer.Column($0) })
        for row in rows { table.addRow(row.map { $0 ?? "NULL" }) }
        let footer = ConsoleText.plural(Int64(rows.count), "row")
            + (result.truncated ? " (stopped at \(Self.sqlMaxRows); add LIMIT)" : "")
        return ConsoleOutput(
            json: ["command": "sql", "columns": .array(result.columns.map { .string($0) }),
                   "rows": .array(rows.map { .array($0.map { JSONValue($0) }) }), "truncated": .bool(result.truncated)],
            text: (result.columns.isEmpty ? "" : context.render(table) + "\n") + footer)
    }

    // MARK: completion

    /// `_complete PREFIX`: up to 20 task ids starting with PREFIX, one per line.
    func complete(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        let prefix = arguments.words.first ?? ""
        let ids = try queries.taskIDs(prefix: prefix, limit: 20)
        return ConsoleOutput(json: ["command": "_complete", "task_ids": .array(ids.map { .string($0) })],
                             text: ids.joined(separator: "\n"))
    }
}
