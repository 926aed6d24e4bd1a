import KieWatchCore
import KieWatchMetrics
import KieWatchStore

/// Restores the counters from the store at start, so a restart does not reset
/// `kiewatch_*_total` (rate() copes with resets, but the console, the e2e check and humans
/// comparing totals should not have to).
///
/// They come from the running totals (`totals`), which the writer moves in the same
/// transaction as the rows and which retention never deletes: a restart after the retention
/// window restores the same counters as one a minute after they were counted (rebuilt from the
/// rollups, they fell as old minutes were pruned). Each series keeps the time its total
/// started as its OpenMetrics `_created`, so a restart does not look like a reset either.
/// One small table, never a walk of `webhooks` or `tasks`; histograms start empty.
enum CounterRestore {
    static func restore(_ m: AgentMetrics, from reader: StoreReader, credits: inout Double?) throws {
        // Several stored totals can land in one series (a model folded into `other`, `late`
        // counted as `duplicate`): summed here, then each series is set once.
        var series: [ObjectIdentifier: (counter: Counter, value: Double, firstAt: EpochMillis)] = [:]
        for total in try reader.runningTotals() {
            guard total.value.isFinite, total.value > 0, let counter = counter(for: total, in: m) else { continue }
            let key = ObjectIdentifier(counter)
            let previous = series[key] ?? (counter, 0, total.firstAt)
            series[key] = (counter, previous.value + total.value, min(previous.firstAt, total.firstAt))
        }
        for (counter, value, firstAt) in series.values {
            counter.restore(to: value, createdAt: Double(firstAt) / 1000)
        }
        if let last = try reader.db.rows("SELECT max(ts) FROM webhooks WHERE result = 'accepted'").first?[0].int64 {
            m.lastWebhookReceived.labels().set(Double(last) / 1000)
        }
        credits = try reader.meta(ConsoleMetaKey.creditsRemaining).flatMap(Double.init)
        if let credits { m.creditsRemaining.labels().set(credits) }
    }

    /// The series a stored total belongs to, with the labels the live agent gives it.
    private static func counter(for total: RunningTotal, in m: AgentMetrics) -> Counter? {
        let model = total.model.isEmpty ? AgentMetrics.modelLabel(nil) : total.model
        switch total.counter {
        case .calls?: return m.apiRequests.labels(total.endpoint, model, total.code)
        case .tasksCreated?: return m.tasksCreated.labels(model)
        case .tasksFinished?: return m.tasksFinished.labels(model, total.result)
        case .tasksMissed?: return m.webhooksMissed.labels(model)
        case .credits?: return m.creditsConsumed.labels(model)
        // `late` is a kind of duplicate for the metric (see `WebhookReceiver.observe`).
        case .webhooks?: return m.webhooksReceived.labels(model, total.result == "late" ? "duplicate" : total.result)
        case .recoveries?: return m.recoveryPolls.labels(model, total.result)
        case .relayAttempts?: return m.relayAttempts.labels(total.result)
        case nil: return nil
        }
    }
}
