import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// `models [WINDOW]`: which models are failing, which are slow, and whether their callbacks
/// still come, all from the per-minute rollups (a day is ~1,440 small rows per series).
extension ConsoleCommands {
    func models(_ arguments: ConsoleArguments, _ context: RenderContext) throws -> ConsoleOutput {
        try arguments.expectPositional(max: 1)
        _ = try arguments.filters(allowed: [])
        let window = try ConsoleArguments.window(arguments.positional.first, default: 3_600_000)
        let (from, to) = StoreReader.rollupMinutes(window: window, now: context.now)
        let stats = try ModelStats.gather(
            calls: reader.callCounts(fromMinute: from, toMinute: to),
            createLatency: reader.createLatency(fromMinute: from, toMinute: to),
            tasks: reader.taskRollups(fromMinute: from, toMinute: to),
            webhooks: reader.webhookRollups(fromMinute: from, toMinute: to))
        let deadlines = stats.map { actions?.deadline(for: $0.model) }

        var json: [JSONValue] = []
        var traffic = TableRenderer(columns: [
            .init("MODEL", alignment: .left), .init("CALLS"), .init("CALL ERR"), .init("CREATED"), .init("FINISHED"),
            .init("SUCCESS"), .init("FAIL"), .init("MISSED"),
        ])
        var latency = TableRenderer(columns: [
            .init("MODEL", alignment: .left), .init("CREATE p50"), .init("p95"), .init("p99"), .init("TASK p50"),
            .init("p95"), .init("HOOK p50"), .init("p95"),
        ])
        var deadlineTable = TableRenderer(columns: [
            .init("MODEL", alignment: .left), .init("DEADLINE", alignment: .right), .init("CHOSEN BY", alignment: .left),
        ])
        for (stat, deadline) in zip(stats, deadlines) {
            let finished = stat.success + stat.fail
            traffic.addRow([
                .init(stat.model), .init(HumanFormat.count(stat.calls)),
                .init(HumanFormat.percent(stat.callErrors, of: stat.calls), tone: ConsoleText.failureTone(stat.callErrors, stat.calls)),
                .init(HumanFormat.count(stat.created)), .init(HumanFormat.count(finished)),
                .init(HumanFormat.percent(stat.success, of: finished)),
                .init(HumanFormat.percent(stat.fail, of: finished), tone: ConsoleText.failureTone(stat.fail, finished)),
                .init(HumanFormat.count(stat.missed), tone: stat.missed > 0 ? .warning : .plain),
            ])
            latency.addRow([
                stat.model, ConsoleText.percentile(0.50, stat.createLatency), ConsoleText.percentile(0.95, stat.createLatency),
                ConsoleText.percentile(0.99, stat.createLatency), ConsoleText.percentile(0.50, stat.taskDuration),
                ConsoleText.percentile(0.95, stat.taskDuration), ConsoleText.percentile(0.50, stat.webhookDelay),
                ConsoleText.percentile(0.95, stat.webhookDelay),
            ])
            deadlineTable.addRow([
                stat.model, deadline.map { HumanFormat.duration(ms: $0.millis) } ?? "-",
                deadline?.reason ?? "offline (the running agent chooses deadlines)",
            ])
            json.append(stat.json(deadline: deadline))
        }
        let header = "models, last \(ConsoleText.window(window)) (whole minutes since "
            + "\(HumanFormat.timestamp(ms: from * 60_000)))"
        let text: String
        if stats.isEmpty {
            text = header + "\nno API calls, tasks or webhooks in this window"
        } else {
            text = ConsoleText.sections([
                header + "\n" + context.render(traffic),
                "latency (create call, create→terminal, terminal→callback)\n" + context.render(latency),
                "deadlines (a task with no callback by then is stale)\n" + context.render(deadlineTable),
            ])
        }
        return ConsoleOutput(
            json: ["command": "models", "window_ms": .int(window), "from": .int(from * 60_000), "to": .int(to * 60_000),
                   "models": .array(json)],
            text: text)
    }
}

/// One model's figures over a window, merged from the three rollups.
struct ModelStats {
    var model: String
    var calls: Int64 = 0
    var callErrors: Int64 = 0
    var created: Int64 = 0
    var success: Int64 = 0
    var fail: Int64 = 0
    var missed: Int64 = 0
    var webhooks: Int64 = 0
    var createLatency = [UInt64](repeating: 0, count: LatencyBuckets.count)
    var taskDuration = [UInt64](repeating: 0, count: LatencyBuckets.count)
    var webhookDelay = [UInt64](repeating: 0, count: LatencyBuckets.count)

    /// Every model seen in any rollup (calls without a model, such as credit checks, are not
    /// a model's), sorted by name.
    static func gather(
        calls: [String: ModelCallCounts], createLatency: [String: [UInt64]], tasks: [TaskRollup],
        webhooks: [WebhookRollupRow]
    ) -> [ModelStats] {
        var byModel: [String: ModelStats] = [:]
        for (model, counts) in calls {
            var stat = ModelStats(model: model)
            stat.calls = counts.calls
            stat.callErrors = counts.errors
            byModel[model] = stat
        }
        for (model, buckets) in createLatency {
            var stat = byModel[model] ?? ModelStats(model: model)
            add(buckets, to: &stat.createLatency)
            byModel[model] = stat
        }
        for task in tasks where !task.model.isEmpty {
            var stat = byModel[task.model] ?? ModelStats(model: task.model)
            stat.created += task.created
            stat.success += task.finishedSuccess
            stat.fail += task.finishedFail
            stat.missed += task.missed
            add(task.buckets, to: &stat.taskDuration)
            byModel[task.model] = stat
        }
        for hook in webhooks where !hook.model.isEmpty {
            var stat = byModel[hook.model] ?? ModelStats(model: hook.model)
            stat.webhooks += hook.deliveries
            add(hook.delayBuckets, to: &stat.webhookDelay)
            byModel[hook.model] = stat
        }
        return byModel.values.sorted { $0.model < $1.model }
    }

    private static func add(_ counts: [UInt64], to total: inout [UInt64]) {
        if total.count < counts.count { total += [UInt64](repeating: 0, count: counts.count - total.count) }
        for (index, count) in counts.enumerated() { total[index] += count }
    }

    func json(deadline: DeadlinePolicy.Choice?) -> JSONValue {
        let finished = success + fail
        func quantiles(_ buckets: [UInt64], _ qs: [(String, Double)]) -> JSONValue {
            .object(qs.map { (key: $0.0, value: JSONValue(ConsoleText.percentileMillis($0.1, buckets))) })
        }
        return [
            "model": .string(model), "calls": .int(calls), "call_errors": .int(callErrors),
            "call_error_ratio": ConsoleText.ratio(callErrors, calls),
            "tasks_created": .int(created), "tasks_finished": .int(finished), "tasks_succeeded": .int(success),
            "tasks_failed": .int(fail), "success_ratio": ConsoleText.ratio(success, finished),
            "fail_ratio": ConsoleText.ratio(fail, finished), "webhooks_missed": .int(missed),
            "webhooks_received": .int(webhooks),
            "create_latency_ms": quantiles(createLatency, [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)]),
            "task_duration_ms": quantiles(taskDuration, [("p50", 0.50), ("p95", 0.95)]),
            "webhook_delay_ms": quantiles(webhookDelay, [("p50", 0.50), ("p95", 0.95)]),
            "deadline_ms": JSONValue(deadline?.millis),
            "deadline_reason": deadline.map { .string($0.reason) } ?? .null,
        ]
    }
}
