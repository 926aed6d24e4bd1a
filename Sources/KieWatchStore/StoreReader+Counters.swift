import KieWatchCore

/// What the agent's counters are restored from at start (`CounterRestore`): the running
/// totals, which retention never deletes, and the time of the last accepted webhook.
extension StoreReader {
    /// Every running total (`totals`): what the counters are restored from at start.
    package func runningTotals() throws -> [RunningTotal] {
        try RecordSQL.list(CounterSQL.selectTotals, [], in: db) { s in
            RunningTotal(
                counter: TotalCounter(rawValue: s.string(at: 0)), endpoint: s.string(at: 1), model: s.string(at: 2),
                code: s.string(at: 3), result: s.string(at: 4), value: s.double(at: 5), firstAt: s.int64(at: 6))
        }
    }

    /// When the last accepted webhook was recorded (`kiewatch_last_webhook_received_timestamp_seconds`).
    package func lastAcceptedWebhookAt() throws -> EpochMillis? {
        try db.rows(CounterSQL.selectLastAcceptedWebhook).first?.first?.int64
    }
}

/// The counters' SQL.
package enum CounterSQL {
    package static let selectTotals =
        "SELECT counter, endpoint, model, code, result, value, first_at FROM totals ORDER BY 1, 2, 3, 4, 5"

    package static let selectLastAcceptedWebhook = "SELECT max(ts) FROM webhooks WHERE result = 'accepted'"
}

/// One running total: a counter's value for one label set since `firstAt`, kept through
/// retention. Dimensions a counter does not have are `""`; so is a missing model.
package struct RunningTotal: Sendable, Equatable {
    /// nil for a counter this build does not know (a newer build wrote it).
    package var counter: TotalCounter?
    package var endpoint: String
    package var model: String
    package var code: String
    package var result: String
    package var value: Double
    package var firstAt: EpochMillis
}
