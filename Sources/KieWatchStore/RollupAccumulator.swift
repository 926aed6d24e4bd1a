import KieWatchCore

/// Per-minute rollup deltas gathered in memory during one write batch and upserted once per
/// key just before COMMIT, in the same transaction as the raw rows.
///
/// A batch of 4,096 calls touches a handful of (minute, endpoint, model, code) keys, so the
/// rollups cost a few upserts per batch instead of one per row. A `write` closure gets its
/// own journal (`RollupJournal`), applied to the batch's only when the closure succeeds,
/// so a closure that rolls back leaves no trace in the rollups either.
///
/// Every value that enters is made storable here, whatever the caller passes: durations and
/// delays below 0 count as 0, sums saturate instead of overflowing, and credits that are NaN,
/// infinite or outside `TaskReport.plausibleCreditsConsumed` count as 0 (unknown). So the
/// upserts cannot fail on a value (a NaN would bind as NULL into `task_rollup.credits NOT
/// NULL`) and one odd task can never take a batch's rollups down with it.
///
/// The same batch also moves the running totals (`totals`: what the counters are restored
/// from at start), derived from the rollup deltas when they are written, plus recovery polls
/// and relay attempts, which have no rollup. Retention deletes old rollup minutes; it never
/// touches `totals`, so a restart after 14 days restores the same counters.
package struct RollupAccumulator {
    package struct CallKey: Hashable {
        package var minute: Int64
        package var endpoint: String
        package var model: String
        package var code: String
    }

    package struct CallDelta {
        package var calls: Int64 = 0
        /// The earliest `ts` counted (the running total's first time when the key is new).
        package var firstAt: EpochMillis = .max
        package var errors: Int64 = 0
        package var latencySumMicros: Int64 = 0
        package var latencyMaxMicros: Int64 = 0
        package var buckets = [UInt32](repeating: 0, count: LatencyBuckets.count)
    }

    package struct TaskKey: Hashable {
        package var minute: Int64
        package var model: String
    }

    package struct TaskDelta {
        package var created: Int64 = 0
        package var finishedSuccess: Int64 = 0
        package var finishedFail: Int64 = 0
        package var missed: Int64 = 0
        package var durationSumMicros: Int64 = 0
        package var credits: Double = 0
        package var buckets = [UInt32](repeating: 0, count: LatencyBuckets.count)
        /// The earliest time each count above moved (for the running totals).
        package var createdFirstAt: EpochMillis = .max
        package var successFirstAt: EpochMillis = .max
        package var failFirstAt: EpochMillis = .max
        package var missedFirstAt: EpochMillis = .max
        package var creditsFirstAt: EpochMillis = .max
    }

    package struct WebhookKey: Hashable {
        package var minute: Int64
        package var model: String
        package var result: String
    }

    package struct WebhookDelta {
        package var deliveries: Int64 = 0
        /// Deliveries that carried a delay (Kie reported a completion time).
        package var delayCount: Int64 = 0
        package var delaySumMillis: Int64 = 0
        /// Delays in microseconds per `LatencyBuckets` bucket (the one layout for every duration).
        package var buckets = [UInt32](repeating: 0, count: LatencyBuckets.count)
        package var firstAt: EpochMillis = .max
    }

    /// One running total in `totals`: what is counted (`TotalCounter`) and its dimensions,
    /// `''` where a counter has none.
    package struct TotalKey: Hashable {
        package var counter: TotalCounter
        package var endpoint = ""
        package var model = ""
        package var code = ""
        package var result = ""
    }

    package struct TotalDelta {
        package var value: Double = 0
        package var firstAt: EpochMillis = .max

        mutating func add(_ amount: Double, firstAt time: EpochMillis) {
            value += amount
            firstAt = min(firstAt, time)
        }
    }

    package private(set) var calls: [CallKey: CallDelta] = [:]
    package private(set) var tasks: [TaskKey: TaskDelta] = [:]
    package private(set) var webhooks: [WebhookKey: WebhookDelta] = [:]
    /// Recovery polls and relay attempts: totals only (no rollup table).
    package private(set) var otherTotals: [TotalKey: TotalDelta] = [:]
    /// Change in the number of non-terminal tasks per model. Not a table: the writer publishes
    /// it after the COMMIT (`StoreWriter.openTasksByModel`), so `write(to:)` leaves it alone.
    package private(set) var openTasks: [String: Int] = [:]

    package init() {}

    /// The rollup minute of a timestamp: whole minutes since the epoch (rounded down, also
    /// before 1970, without overflow at Int64's limits).
    @inline(__always)
    package static func minute(_ ts: EpochMillis) -> Int64 {
        ts >= 0 ? ts / 60_000 : -1 - (-1 - ts) / 60_000
    }

    package mutating func add(_ call: APICallRecord) {
        let key = CallKey(minute: Self.minute(call.ts), endpoint: call.endpoint.rawValue,
                          model: call.model ?? "", code: call.codeLabel)
        let latency = max(call.latencyMicros, 0)
        calls[key, default: CallDelta()].record(latency: latency, failed: call.outcome != .ok, at: call.ts)
    }

    /// Counts a webhook delivery in its minute, model (`""` when unknown) and result, with its
    /// delay when Kie reported a completion time.
    package mutating func add(_ webhook: WebhookRecord) {
        let key = WebhookKey(minute: Self.minute(webhook.ts), model: webhook.model ?? "",
                             result: webhook.result.rawValue)
        var delta = webhooks[key, default: WebhookDelta()]
        delta.deliveries += 1
        delta.firstAt = min(delta.firstAt, webhook.ts)
        if let delay = webhook.delayMillis {
            let clamped = min(max(delay, 0), Int64.max / 1_000)
            delta.delayCount += 1
            delta.delaySumMillis = delta.delaySumMillis.saturatingAdding(clamped)
            delta.buckets[LatencyBuckets.index(micros: clamped * 1_000)] &+= 1
        }
        webhooks[key] = delta
    }

    package mutating func taskCreated(model: String, at ts: EpochMillis) {
        let key = TaskKey(minute: Self.minute(ts), model: model)
        var delta = tasks[key, default: TaskDelta()]
        delta.created += 1
        delta.createdFirstAt = min(delta.createdFirstAt, ts)
        tasks[key] = delta
    }

    /// A task reached a terminal state at `ts` after `durationMicros` since creation, having
    /// consumed `credits` (as Kie reported them, 0 when unknown). A negative duration counts
    /// as 0; credits that are not a plausible amount (NaN, infinite, negative, absurdly
    /// large) count as 0, as unknown credits do.
    package mutating func taskFinished(
        model: String, success: Bool, at ts: EpochMillis, durationMicros: Int64, credits: Double = 0
    ) {
        let duration = max(durationMicros, 0)
        let key = TaskKey(minute: Self.minute(ts), model: model)
        var delta = tasks[key, default: TaskDelta()]
        if success {
            delta.finishedSuccess += 1
            delta.successFirstAt = min(delta.successFirstAt, ts)
        } else {
            delta.finishedFail += 1
            delta.failFirstAt = min(delta.failFirstAt, ts)
        }
        delta.durationSumMicros = delta.durationSumMicros.saturatingAdding(duration)
        if TaskReport.plausibleCreditsConsumed.contains(credits) {
            delta.credits += credits
            if credits > 0 { delta.creditsFirstAt = min(delta.creditsFirstAt, ts) }
        }
        let index = LatencyBuckets.index(micros: duration)
        delta.buckets[index] &+= 1
        tasks[key] = delta
    }

    package mutating func taskMissed(model: String, at ts: EpochMillis) {
        let key = TaskKey(minute: Self.minute(ts), model: model)
        var delta = tasks[key, default: TaskDelta()]
        delta.missed += 1
        delta.missedFirstAt = min(delta.missedFirstAt, ts)
        tasks[key] = delta
    }

    /// Counts a recovery poll in the running totals (model `''` when unknown).
    package mutating func add(_ recovery: RecoveryRecord) {
        otherTotals[TotalKey(counter: .recoveries, model: recovery.model ?? "", result: recovery.result.rawValue),
                    default: TotalDelta()].add(1, firstAt: recovery.ts)
    }

    /// Counts a relay attempt in the running totals by its result, as the relay reports it.
    package mutating func relayAttempt(_ result: RelayAttemptResult, at ts: EpochMillis) {
        otherTotals[TotalKey(counter: .relayAttempts, result: result.rawValue), default: TotalDelta()]
            .add(1, firstAt: ts)
    }

    package mutating func openTasks(model: String, delta: Int) {
        openTasks[model, default: 0] += delta
    }

    /// The open-task changes so far, leaving none behind.
    package mutating func takeOpenTasks() -> [String: Int] {
        defer { openTasks.removeAll(keepingCapacity: true) }
        return openTasks
    }

    package mutating func removeAll() {
        calls.removeAll(keepingCapacity: true)
        tasks.removeAll(keepingCapacity: true)
        webhooks.removeAll(keepingCapacity: true)
        otherTotals.removeAll(keepingCapacity: true)
        openTasks.removeAll(keepingCapacity: true)
    }

    // MARK: Writing

    // The sums saturate in SQL as they do in memory: SQLite turns an integer overflow into a
    // REAL, which these STRICT INTEGER columns refuse (the whole upsert would fail), while
    // `min(<that REAL>, Int64.max)` is the integer again. The deltas are never negative.

    package static let callUpsertSQL = """
        INSERT INTO call_rollup(minute, endpoint, model, code, calls, errors, latency_sum_us, latency_max_us, buckets)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
        ON CONFLICT(minute, endpoint, model, code) DO UPDATE SET
            calls = calls + excluded.calls,
            errors = errors + excluded.errors,
            latency_sum_us = min(latency_sum_us + excluded.latency_sum_us, 9223372036854775807),
            latency_max_us = max(latency_max_us, excluded.latency_max_us),
            buckets = kw_buckets_add(buckets, excluded.buckets)
        """

    package static let taskUpsertSQL = """
        INSERT INTO task_rollup(minute, model, created, finished_success, finished_fail, missed, duration_sum_us, buckets,
                                credits)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
        ON CONFLICT(minute, model) DO UPDATE SET
            created = created + excluded.created,
            finished_success = finished_success + excluded.finished_success,
            finished_fail = finished_fail + excluded.finished_fail,
            missed = missed + excluded.missed,
            duration_sum_us = min(duration_sum_us + excluded.duration_sum_us, 9223372036854775807),
            buckets = kw_buckets_add(buckets, excluded.buckets),
            credits = credits + excluded.credits
        """

    package static let webhookUpsertSQL = """
        INSERT INTO webhook_rollup(minute, model, result, deliveries, delay_count, delay_sum_ms, buckets)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
        ON CONFLICT(minute, model, result) DO UPDATE SET
            deliveries = deliveries + excluded.deliveries,
            delay_count = delay_count + excluded.delay_count,
            delay_sum_ms = min(delay_sum_ms + excluded.delay_sum_ms, 9223372036854775807),
            buckets = kw_buckets_add(buckets, excluded.buckets)
        """

    /// A running total grows; its `first_at` stays what the first insert gave it, so the
    /// counter restored from it keeps its `_created` time.
    package static let totalUpsertSQL = """
        INSERT INTO totals(counter, endpoint, model, code, result, value, first_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
        ON CONFLICT(counter, endpoint, model, code, result) DO UPDATE SET value = value + excluded.value
        """

    /// The running totals this batch moves: from the rollup deltas, plus `otherTotals`.
    package var totals: [TotalKey: TotalDelta] {
        var totals = otherTotals
        for (key, delta) in calls {
            totals[TotalKey(counter: .calls, endpoint: key.endpoint, model: key.model, code: key.code),
                   default: TotalDelta()].add(Double(delta.calls), firstAt: delta.firstAt)
        }
        for (key, delta) in tasks {
            func add(_ counter: TotalCounter, result: String = "", _ amount: Double, _ firstAt: EpochMillis) {
                guard amount > 0 else { return }
                totals[TotalKey(counter: counter, model: key.model, result: result), default: TotalDelta()]
                    .add(amount, firstAt: firstAt)
            }
            add(.tasksCreated, Double(delta.created), delta.createdFirstAt)
            add(.tasksFinished, result: "success", Double(delta.finishedSuccess), delta.successFirstAt)
            add(.tasksFinished, result: "fail", Double(delta.finishedFail), delta.failFirstAt)
            add(.tasksMissed, Double(delta.missed), delta.missedFirstAt)
            add(.credits, delta.credits, delta.creditsFirstAt)
        }
        for (key, delta) in webhooks {
            totals[TotalKey(counter: .webhooks, model: key.model, result: key.result), default: TotalDelta()]
                .add(Double(delta.deliveries), firstAt: delta.firstAt)
        }
        return totals
    }

    /// Upserts every delta into `call_rollup` / `task_rollup` / `webhook_rollup` and `totals`,
    /// then empties them (`openTasks` stays, for the writer to take).
    package mutating func write(to db: Database) throws {
        let totals = self.totals
        if !totals.isEmpty {
            let statement = try db.cachedStatement(Self.totalUpsertSQL)
            for (key, delta) in totals {
                defer { statement.reset() }
                try statement.bind(key.counter.rawValue, at: 1)
                try statement.bind(key.endpoint, at: 2)
                try statement.bind(key.model, at: 3)
                try statement.bind(key.code, at: 4)
                try statement.bind(key.result, at: 5)
                try statement.bind(delta.value, at: 6)
                try statement.bind(delta.firstAt, at: 7)
                try statement.step()
            }
        }
        if !calls.isEmpty {
            let statement = try db.cachedStatement(Self.callUpsertSQL)
            for (key, delta) in calls {
                defer { statement.reset() }
                try statement.bind(key.minute, at: 1)
                try statement.bind(key.endpoint, at: 2)
                try statement.bind(key.model, at: 3)
                try statement.bind(key.code, at: 4)
                try statement.bind(delta.calls, at: 5)
                try statement.bind(delta.errors, at: 6)
                try statement.bind(delta.latencySumMicros, at: 7)
                try statement.bind(delta.latencyMaxMicros, at: 8)
                try statement.bind(LatencyBuckets.encode(delta.buckets), at: 9)
                try statement.step()
            }
        }
        if !tasks.isEmpty {
            let statement = try db.cachedStatement(Self.taskUpsertSQL)
            for (key, delta) in tasks {
                defer { statement.reset() }
                try statement.bind(key.minute, at: 1)
                try statement.bind(key.model, at: 2)
                try statement.bind(delta.created, at: 3)
                try statement.bind(delta.finishedSuccess, at: 4)
                try statement.bind(delta.finishedFail, at: 5)
                try statement.bind(delta.missed, at: 6)
                try statement.bind(delta.durationSumMicros, at: 7)
                try statement.bind(LatencyBuckets.encode(delta.buckets), at: 8)
                try statement.bind(delta.credits, at: 9)
                try statement.step()
            }
        }
        if !webhooks.isEmpty {
            let statement = try db.cachedStatement(Self.webhookUpsertSQL)
            for (key, delta) in webhooks {
                defer { statement.reset() }
                try statement.bind(key.minute, at: 1)
                try statement.bind(key.model, at: 2)
                try statement.bind(key.result, at: 3)
                try statement.bind(delta.deliveries, at: 4)
                try statement.bind(delta.delayCount, at: 5)
                try statement.bind(delta.delaySumMillis, at: 6)
                try statement.bind(LatencyBuckets.encode(delta.buckets), at: 7)
                try statement.step()
            }
        }
        calls.removeAll(keepingCapacity: true)
        tasks.removeAll(keepingCapacity: true)
        webhooks.removeAll(keepingCapacity: true)
        otherTotals.removeAll(keepingCapacity: true)
    }
}

extension RollupAccumulator.CallDelta {
    @inline(__always)
    mutating func record(latency: Int64, failed: Bool, at ts: EpochMillis) {
        calls += 1
        if ts < firstAt { firstAt = ts }
        if failed { errors += 1 }
        latencySumMicros = latencySumMicros.saturatingAdding(latency)
        if latency > latencyMaxMicros { latencyMaxMicros = latency }
        buckets[LatencyBuckets.index(micros: latency)] &+= 1
    }
}

/// A `write` closure's rollup and open-task changes, noted as they happen and applied to the
/// batch's accumulator only when the closure succeeds (dropped when it rolls back).
/// Noting is an append: the closure builds no dictionaries of its own.
package struct RollupJournal {
    enum Entry {
        case call(APICallRecord)
        case webhook(WebhookRecord)
        case taskCreated(model: String, at: EpochMillis)
        case taskFinished(model: String, success: Bool, at: EpochMillis, durationMicros: Int64, credits: Double)
        case taskMissed(model: String, at: EpochMillis)
        case openTasks(model: String, delta: Int)
        case recovery(RecoveryRecord)
        case relayAttempt(RelayAttemptResult, at: EpochMillis)
    }

    private(set) var entries: [Entry] = []

    mutating func add(_ call: APICallRecord) { entries.append(.call(call)) }
    mutating func add(_ webhook: WebhookRecord) { entries.append(.webhook(webhook)) }
    mutating func taskCreated(model: String, at ts: EpochMillis) { entries.append(.taskCreated(model: model, at: ts)) }
    mutating func taskFinished(model: String, success: Bool, at ts: EpochMillis, durationMicros: Int64, credits: Double) {
        entries.append(.taskFinished(model: model, success: success, at: ts, durationMicros: durationMicros, credits: credits))
    }
    mutating func taskMissed(model: String, at ts: EpochMillis) { entries.append(.taskMissed(model: model, at: ts)) }
    mutating func openTasks(model: String, delta: Int) { entries.append(.openTasks(model: model, delta: delta)) }
    mutating func add(_ recovery: RecoveryRecord) { entries.append(.recovery(recovery)) }
    mutating func relayAttempt(_ result: RelayAttemptResult, at ts: EpochMillis) {
        entries.append(.relayAttempt(result, at: ts))
    }

    mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    /// Adds every noted change to `accumulator`.
    func apply(to accumulator: inout RollupAccumulator) {
        for entry in entries {
            switch entry {
            case .call(let call): accumulator.add(call)
            case .webhook(let webhook): accumulator.add(webhook)
            case .taskCreated(let model, let ts): accumulator.taskCreated(model: model, at: ts)
            case .taskFinished(let model, let success, let ts, let duration, let credits):
                accumulator.taskFinished(model: model, success: success, at: ts, durationMicros: duration, credits: credits)
            case .taskMissed(let model, let ts): accumulator.taskMissed(model: model, at: ts)
            case .openTasks(let model, let delta): accumulator.openTasks(model: model, delta: delta)
            case .recovery(let recovery): accumulator.add(recovery)
            case .relayAttempt(let result, let ts): accumulator.relayAttempt(result, at: ts)
            }
        }
    }
}

/// What a running total in `totals` counts (its `counter` column). The agent restores one
/// metric family from each (`CounterRestore`).
package enum TotalCounter: String, Sendable, CaseIterable {
    /// API calls by endpoint, model, code (`kiewatch_api_requests_total`).
    case calls
    /// Tasks created, by model.
    case tasksCreated = "tasks_created"
    /// Tasks finished, by model and result (`success`, `fail`).
    case tasksFinished = "tasks_finished"
    /// Missed webhooks, by model.
    case tasksMissed = "tasks_missed"
    /// Credits consumed, by model.
    case credits
    /// Webhook deliveries, by model and result (`late` kept apart from `duplicate`).
    case webhooks
    /// Recovery polls, by model and result.
    case recoveries
    /// Relay attempts, by result (`delivered`, `failed`, `gave_up`).
    case relayAttempts = "relay_attempts"
}
