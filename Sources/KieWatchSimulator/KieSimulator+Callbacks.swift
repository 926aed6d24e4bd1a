import KieWatchCore
import KieWatchHTTP

/// Virtual time and callback delivery.
extension KieSimulator {
    /// Moves every task whose next transition is due at `clock.now()` and sends the callbacks
    /// that are due, awaiting the sender. Loops until nothing is due, so a retry whose delay is
    /// zero goes out in the same tick (retries are bounded, so this ends).
    public func tick() async {
        while true {
            let now = clock.now()
            let due = state.withLock { state in
                state.advanceAll(to: now, configuration: configuration)
                return state.takeDue(now: now)
            }
            if due.isEmpty { return }
            await deliver(due)
        }
    }

    /// Real-time driver: ticks, then sleeps until the next due event (at most 10 ms), until
    /// cancelled. Each tick runs as its own child task, so one callback receiver that takes its
    /// full 15 s to answer does not hold back every other task's callback.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                group.addTask { await self.tick() }
                let now = clock.now()
                let next = state.withLock { $0.nextDueTime() }
                let wait = next.map { min(max($0 - now, 1), 10) } ?? 10
                do {
                    try await Task.sleep(for: .milliseconds(wait))
                } catch {
                    return
                }
            }
        }
    }

    /// Sends a batch of callback attempts and records the results in the batch's order, so the
    /// record does not depend on which receiver answered first. Different tasks' callbacks go
    /// out concurrently; one task's go one after another in the batch's order, so a receiver
    /// gets Suno's `text`, `first` and `complete` in that order even when they fall due together.
    func deliver(_ batch: [PendingCallback]) async {
        let sender = callbackSender
        let timeout = configuration.callbackTimeout
        var groups: [[Int]] = []
        var groupOfTask: [String: Int] = [:]
        for (index, callback) in batch.enumerated() {
            if let group = groupOfTask[callback.taskId] {
                groups[group].append(index)
            } else {
                groupOfTask[callback.taskId] = groups.count
                groups.append([index])
            }
        }
        typealias Outcome = (index: Int, result: CallbackResult, headers: HTTPHeaders, sentAt: EpochMillis)
        var outcomes: [Outcome?] = Array(repeating: nil, count: batch.count)
        await withTaskGroup(of: [Outcome].self) { group in
            for indices in groups {
                group.addTask {
                    var sent: [Outcome] = []
                    for index in indices {
                        let callback = batch[index]
                        let sentAt = self.clock.now()
                        let headers = self.callbackHeaders(taskId: callback.kieTaskId, at: sentAt)
                        let result = await sender.post(
                            url: callback.url, body: callback.body, headers: headers, timeout: timeout)
                        sent.append((index, result, headers, sentAt))
                    }
                    return sent
                }
            }
            for await sent in group {
                for outcome in sent { outcomes[outcome.index] = outcome }
            }
        }
        let now = clock.now()
        state.withLock { state in
            for (callback, outcome) in zip(batch, outcomes) {
                guard let outcome else { continue }
                state.record(
                    callback, result: outcome.result, headers: outcome.headers, sentAt: outcome.sentAt, now: now,
                    configuration: configuration)
            }
        }
    }

    /// `Content-Type`, plus Kie's opt-in signature headers when an HMAC key is configured.
    func callbackHeaders(taskId: String, at now: EpochMillis) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let key = configuration.webhookHMACKey {
            let timestamp = String(now / 1000)
            headers.add("X-Webhook-Timestamp", timestamp)
            headers.add(
                "X-Webhook-Signature", HMACSHA256.kieSignature(key: key, taskId: taskId, timestamp: timestamp))
        }
        return headers
    }
}
