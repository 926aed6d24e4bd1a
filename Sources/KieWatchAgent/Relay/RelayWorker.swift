import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchStore
import Synchronization

/// Delivers the durable outbox to the apps' callback URLs: each accepted callback (or
/// synthesized one) is POSTed with its original body; failures are retried on `RelayBackoff`
/// until delivered or given up. The outbox lives in SQLite, so a restart resumes it.
///
/// A failure no retry can cure (a URL or request the client refuses: `isPermanent`) gives up
/// at once, with the reason in `last_error`, a `gave_up` count and a log line: the app learns
/// from `relay` and the metrics today, not from a silence of 24 hours.
///
/// Delivery is at-least-once: a kill -9 between the app's 200 and the commit of "delivered"
/// sends that one relay again after restart.
final class RelayWorker: Sendable {
    let context: AgentContext
    let backoff: RelayBackoff
    /// Deliveries in flight at once.
    let concurrency = 16
    /// How long the app may take to answer one delivery (Kie allows 15 s).
    let deliveryTimeout: Duration = .seconds(15)
    private let reader: Mutex<StoreReader>
    /// Runs the reads off the cooperative pool.
    private let reads = BlockingExecutor(label: "kiewatch.relay.reads")
    private let inFlight = Mutex<Set<Int64>>([])

    init(context: AgentContext, reader: consuming sending StoreReader) {
        self.context = context
        self.backoff = RelayBackoff(giveUpAfterMillis: context.configuration.relayGiveUpMillis)
        self.reader = Mutex(reader)
    }

    /// Delivers everything due now; returns how many attempts were made.
    @discardableResult
    func tick() async -> Int {
        let now = context.clock.now()
        let due: [RelayOutboxItem]
        do {
            due = try await reads.run { try self.reader.withLock { try $0.dueRelays(now: now, limit: 256) } }
        } catch {
            context.logger.error("relay.read_failed", ["error": "\(error)"])
            return 0
        }
        let claimed = inFlight.withLock { set in
            due.filter { item in
                guard let id = item.id, !set.contains(id) else { return false }
                set.insert(id)
                return true
            }
        }
        guard !claimed.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            var next = claimed.makeIterator()
            for _ in 0..<min(concurrency, claimed.count) {
                if let item = next.next() { group.addTask { await self.deliver(item) } }
            }
            while await group.next() != nil {
                if let item = next.next() { group.addTask { await self.deliver(item) } }
            }
        }
        return claimed.count
    }

    /// Runs until cancelled: delivers what is due, then waits for a new relay or the next poll.
    func run() async {
        while !Task.isCancelled {
            await tick()
            await context.relayWakeup.wait(timeout: .milliseconds(500))
        }
    }

    private func deliver(_ item: RelayOutboxItem) async {
        guard let id = item.id else { return }
        defer { _ = inFlight.withLock { $0.remove(id) } }
        var headers: HTTPHeaders = ["Content-Type": "application/json", "User-Agent": "kiewatch/\(KieWatchVersion.current)"]
        for line in item.headers.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        if item.synthesized { headers.add(SynthesizedCallback.recoveredHeader, "true") }

        let started = monotonicNanos()
        var status: Int?
        var failure: String?
        var permanent = false
        do {
            let request = try HTTPClientRequest(method: "POST", url: item.url, headers: headers, body: item.body)
            let response = try await context.relayTransport.send(request, timeout: deliveryTimeout)
            status = response.status
            if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
        } catch {
            // Cut by the agent's own stop, not refused by the app: no attempt is recorded, the
            // relay stays pending and goes out after the restart.
            if error == .cancelled && Task.isCancelled { return }
            permanent = error.isPermanent
            failure = permanent ? "\(error) (cannot ever be delivered: not retried)" : "\(error)"
        }
        let micros = Int64((monotonicNanos() - started) / 1000)
        let now = context.clock.now()

        var updated = item
        updated.attempts += 1
        updated.lastStatus = status
        updated.lastError = failure
        let result: RelayAttemptResult
        if failure == nil {
            updated.state = .delivered
            updated.deliveredAt = now
            result = .delivered
        } else if !permanent,
            let next = backoff.nextAttempt(afterFailedAttempts: updated.attempts, firstAttemptAt: item.createdAt, now: now)
        {
            updated.nextAttemptAt = next
            result = .failed
        } else {
            updated.state = .gaveUp
            result = .gaveUp
        }
        let attempt = RelayAttemptRecord(outboxID: id, ts: now, httpStatus: status, error: failure, durationMicros: micros)
        let saved = updated
        do {
            try await context.writer.write { ctx in
                _ = try ctx.updateRelay(saved)
                try ctx.insert(attempt, result: result)
            }
        } catch {
            context.storeFailed("relay", error, task: item.taskID)
        }
        context.metrics.relayAttempts.labels(result.rawValue).increment()
        context.metrics.relayDuration.labels().observe(Double(micros) / 1e6)
        if let failure {
            context.logger.warn(
                "relay.failed",
                ["task": item.taskID, "url": URLRedaction.redact(item.url), "attempt": String(updated.attempts),
                 "error": failure, "result": result.rawValue])
        }
    }
}
