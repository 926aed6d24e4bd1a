import KieWatchCore

/// What the console's reads return (`StoreReader+Console.swift`): named fields, decoded next
/// to the SQL that selects them, so the console formats values and never reads a column by
/// its position.

extension APICallRecord {
    /// A call as the console lists it, from a row of `ConsoleSQL.callColumns` (no byte
    /// counts), its path redacted. Rows are written by this build's store, so their endpoint and
    /// outcome are among its values; anything else reads as `other` / `error`.
    init(consoleRow s: Statement) {
        self.init(
            id: s.int64(at: 0), ts: s.int64(at: 1), endpoint: KieEndpoint(rawValue: s.string(at: 2)) ?? .other,
            model: s.optionalString(at: 3), taskID: s.optionalString(at: 4), method: s.string(at: 5),
            path: URLRedaction.redact(s.string(at: 6)), httpStatus: s.int(at: 7), bodyCode: s.optionalInt(at: 8),
            latencyMicros: s.int64(at: 9), outcome: CallOutcome(rawValue: s.string(at: 10)) ?? .error,
            error: s.optionalString(at: 11))
    }
}

/// A webhook delivery without its body.
package struct WebhookRow: Sendable, Equatable {
    package var id: Int64
    package var ts: EpochMillis
    package var family: String
    package var taskID: String?
    package var model: String?
    package var state: String?
    package var auth: String
    package var result: String
    package var delayMillis: Int64?

    /// From a row of `ConsoleSQL.webhookColumns`.
    init(row s: Statement) {
        id = s.int64(at: 0)
        ts = s.int64(at: 1)
        family = s.string(at: 2)
        taskID = s.optionalString(at: 3)
        model = s.optionalString(at: 4)
        state = s.optionalString(at: 5)
        auth = s.string(at: 6)
        result = s.string(at: 7)
        delayMillis = s.optionalInt64(at: 8)
    }
}

/// A relay outbox item as the console shows it: the URL already redacted, no body.
package struct RelayRow: Sendable, Equatable {
    package var id: Int64
    package var taskID: String
    package var redactedURL: String
    package var synthesized: Bool
    package var createdAt: EpochMillis
    package var nextAttemptAt: EpochMillis
    package var attempts: Int
    package var state: String
    package var lastStatus: Int?
    package var lastError: String?
    package var deliveredAt: EpochMillis?

    /// From a row of `ConsoleSQL.relayColumns`.
    init(row s: Statement) {
        id = s.int64(at: 0)
        taskID = s.string(at: 1)
        redactedURL = URLRedaction.redact(s.string(at: 2))
        synthesized = s.int64(at: 3) != 0
        createdAt = s.int64(at: 4)
        nextAttemptAt = s.int64(at: 5)
        attempts = s.int(at: 6)
        state = s.string(at: 7)
        lastStatus = s.optionalInt(at: 8)
        lastError = s.optionalString(at: 9)
        deliveredAt = s.optionalInt64(at: 10)
    }
}

/// Webhook deliveries for one (model, result) over a window, from `webhook_rollup`.
package struct WebhookRollupRow: Sendable, Equatable {
    package var model: String
    package var result: String
    package var deliveries: Int64 = 0
    package var delayCount: Int64 = 0
    package var lastMinute: Int64 = .min
    package var delayBuckets = [UInt64](repeating: 0, count: LatencyBuckets.count)

    package init(model: String, result: String) {
        self.model = model
        self.result = result
    }

    /// Adds one minute's rollup row.
    mutating func add(deliveries: Int64, delays: Int64, minute: Int64, buckets: [UInt8]?) {
        self.deliveries += deliveries
        delayCount += delays
        lastMinute = max(lastMinute, minute)
        if let buckets { LatencyBuckets.accumulate(buckets, into: &delayBuckets) }
    }
}

/// Failed calls for one (code, endpoint, model) over a window, from `call_rollup`.
package struct CallErrorRow: Sendable, Equatable {
    package var code: String
    package var endpoint: String
    package var model: String
    package var errors: Int64
    package var lastMinute: Int64
}

/// Calls and failed calls of one model over a window.
package struct ModelCallCounts: Sendable, Equatable {
    package var calls: Int64
    package var errors: Int64
}

/// Stale tasks right now.
package struct StaleSummary: Sendable, Equatable {
    package var count: Int64
    /// The earliest deadline that passed; nil when nothing is stale.
    package var oldestDeadline: EpochMillis?
}

/// The relay outbox's pending items.
package struct RelayBacklog: Sendable, Equatable {
    package var count: Int64
    /// When the oldest pending relay was queued.
    package var oldest: EpochMillis?
    /// The earliest next attempt.
    package var nextAttempt: EpochMillis?
}

/// Relays given up over a window: how many, and the newest of them.
package struct GaveUpRelays: Sendable, Equatable {
    package var count: Int64
    package var rows: [RelayRow]
}

/// The rows of one table, exact or estimated (`StoreReader.estimatedCount(of:)`).
package struct TableCount: Sendable, Equatable {
    package var count: Int64
    package var estimated: Bool
}

/// A `meta` value and when it was written.
package struct MetaEntry: Sendable, Equatable {
    package var value: String
    package var updatedAt: EpochMillis
}

/// A task recovery found whose webhook was missed.
package struct MissedTask: Sendable, Equatable {
    package var recoveredAt: EpochMillis
    package var task: TaskRecord
}

/// Tasks one model finished over a window and the credits they consumed.
package struct ModelCredits: Sendable, Equatable {
    package var model: String
    package var tasks: Int64
    package var credits: Double
}
