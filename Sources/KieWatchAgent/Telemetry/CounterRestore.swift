import KieWatchCore
import KieWatchMetrics
import KieWatchStore

/// Rebuilds the counters from the store at start, so a restart does not reset
/// `kiewatch_*_total` (rate() copes with resets, but the console, the e2e check and humans
/// comparing totals should not have to). Counts come from the rollups and the small tables,
/// never a walk of `webhooks` or `tasks` (millions of rows: seconds before the agent could
/// serve); histograms start empty.
enum CounterRestore {
    static func restore(_ m: AgentMetrics, from reader: StoreReader, credits: inout Double?) throws {
        for row in try reader.db.rows(
            "SELECT endpoint, model, code, sum(calls) FROM call_rollup GROUP BY endpoint, model, code")
        {
            guard let endpoint = row[0].string, let code = row[2].string, let n = row[3].int64 else { continue }
            let model = row[1].string.flatMap { $0.isEmpty ? nil : $0 }
            m.apiRequests.labels(endpoint, AgentMetrics.modelLabel(model), code).increment(by: Int(n))
        }
        for row in try reader.db.rows(
            "SELECT model, sum(created), sum(finished_success), sum(finished_fail), sum(missed) FROM task_rollup GROUP BY model")
        {
            guard let model = row[0].string else { continue }
            add(m.tasksCreated.labels(model), row[1])
            add(m.tasksFinished.labels(model, "success"), row[2])
            add(m.tasksFinished.labels(model, "fail"), row[3])
            add(m.webhooksMissed.labels(model), row[4])
        }
        for row in try reader.db.rows(
            """
            SELECT CASE model WHEN '' THEN 'unknown' ELSE model END,
                   CASE result WHEN 'late' THEN 'duplicate' ELSE result END, sum(deliveries)
            FROM webhook_rollup GROUP BY 1, 2
            """)
        {
            guard let model = row[0].string, let result = row[1].string else { continue }
            add(m.webhooksReceived.labels(model, result), row[2])
        }
        for row in try reader.db.rows("SELECT coalesce(model, 'unknown'), result, count(*) FROM recoveries GROUP BY 1, 2") {
            guard let model = row[0].string, let result = row[1].string else { continue }
            add(m.recoveryPolls.labels(model, result), row[2])
        }
        for row in try reader.db.rows(
            """
            SELECT CASE WHEN a.http_status BETWEEN 200 AND 299 THEN 'delivered'
                        WHEN o.state = 'gave_up' AND a.id = (SELECT max(id) FROM relay_attempts WHERE outbox_id = o.id) THEN 'gave_up'
                        ELSE 'failed' END, count(*)
            FROM relay_attempts a JOIN relay_outbox o ON o.id = a.outbox_id GROUP BY 1
            """)
        {
            guard let result = row[0].string else { continue }
            add(m.relayAttempts.labels(result), row[1])
        }
        for row in try reader.db.rows(
            "SELECT model, sum(credits) FROM task_rollup WHERE credits > 0 GROUP BY model")
        {
            guard let model = row[0].string else { continue }
            switch row[1] {
            case .real(let sum): m.creditsConsumed.labels(model).increment(by: sum)
            case .integer(let sum): m.creditsConsumed.labels(model).increment(by: Int(sum))
            default: continue
            }
        }
        if let last = try reader.db.rows("SELECT max(ts) FROM webhooks WHERE result = 'accepted'").first?[0].int64 {
            m.lastWebhookReceived.labels().set(Double(last) / 1000)
        }
        credits = try reader.meta(ConsoleMetaKey.creditsRemaining).flatMap(Double.init)
        if let credits { m.creditsRemaining.labels().set(credits) }
    }

    private static func add(_ counter: Counter, _ value: SQLValue) {
        if let n = value.int64, n > 0 { counter.increment(by: Int(n)) }
    }
}
