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
/// With `KIE_WEBHOOK_HMAC_KEY` set, every attempt is signed as Kie signs, at the attempt
/// (`X-Webhook-Timestamp` now, `X-Webhook-Signature` over the task id and that timestamp), so a
/// retry hours later, a synthesized callback and a replay all pass the app's freshness check.
///
/// Two things hold deliveries: the pause switch (`relay pause`, stored, so a restart keeps
/// it; the give-up clocks stop while it holds) and each destination's circuit breaker
/// (`RelayCircuitBreaker`: a dead destination gets one probe at a time).
///
/// Delivery is at-least-once: a kill -9 between the app's 200 and the commit of "delivered"
/// sends that one relay again after restart.
final class RelayWorker: Sendable {
    let context: AgentContext
    let backoff: RelayBackoff
    let breaker: RelayCircuitBreaker
    /// Deliveries in flight at once.
    let concurrency = 16
    /// How long the app may take to answer one delivery (Kie allows 15 s).
    let deliveryTimeout: Duration = .seconds(15)
    let reader: Mutex<StoreReader>
    /// Runs the reads off the cooperative pool.
    let reads = BlockingExecutor(label: "kiewatch.relay.reads")
    private let inFlight = Mutex<Set<Int64>>([])
    /// The pause switch as last committed; nil while delivering.
    let pauseState: Mutex<RelayPause?>
    /// `destination` label values shown as open, so a circuit that closes drops back to 0.
    private let shownCircuits = Mutex<Set<String>>([])

    /// Reads the stored pause switch: an agent restarted during a pause keeps holding.
    init(context: AgentContext, reader: consuming sending StoreReader) throws {
        self.context = context
        self.backoff = RelayBackoff(giveUpAfterMillis: context.configuration.relayGiveUpMillis)
        self.breaker = RelayCircuitBreaker(
            failureThreshold: context.configuration.relayBreakerFailures,
            probeIntervalMillis: context.configuration.relayBreakerProbeIntervalMillis)
        let pause = try reader.relayPause()
        self.reader = Mutex(reader)
        pauseState = Mutex(pause)
        context.metrics.relayPaused.labels().set(pause == nil ? 0 : 1)
    }

    /// Delivers everything due now; returns how many relays it took up (attempted or held).
    @discardableResult
    func tick() async -> Int {
        let now = context.clock.now()
        if let pause = pauseState.withLock({ $0 }) {
            guard !pause.holds(at: now) else { return 0 }
            await endTimedPause(at: now)
            guard pauseState.withLock({ $0 }) == nil else { return 0 }
        }
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
        let started = context.clock.now()
        // A pause that came while this batch ran holds what has not gone yet.
        if pauseState.withLock({ $0?.holds(at: started) ?? false }) { return }
        let destination = RelayDestination(url: item.url)
        var probe = false
        if let destination {
            switch breaker.admit(destination, relay: id, now: started) {
            case .deliver: break
            case .probe: probe = true
            case .hold(let until):
                await hold(item, until: until, destination: destination, now: started)
                return
            }
        }

        let startedNanos = monotonicNanos()
        var status: Int?
        var failure: String?
        var permanent = false
        var signal = RelayCircuitBreaker.Signal.none
        do {
            // The outbox holds the body as stored (secrets redacted); the app gets its own URL
            // where Kie echoes the agent's.
            let body = context.bodyForApp(item.body, appURL: item.url)
            let request = try HTTPClientRequest(
                method: "POST", url: item.url, headers: headers(for: item, at: started), body: body)
            let response = try await context.relayTransport.send(request, timeout: deliveryTimeout)
            status = response.status
            if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
            signal = Self.saysDown(response.status) ? .down("HTTP \(response.status)") : .up
        } catch {
            // Cut by the agent's own stop, not refused by the app: no attempt is recorded, the
            // relay stays pending and goes out after the restart.
            if error == .cancelled && Task.isCancelled {
                if let destination, probe { _ = breaker.record(destination, .none, relay: id, probe: true, now: started) }
                return
            }
            permanent = error.isPermanent
            failure = permanent ? "\(error) (cannot ever be delivered: not retried)" : "\(error)"
            signal = permanent ? .none : .down("\(error)")
        }
        let micros = Int64((monotonicNanos() - startedNanos) / 1000)
        let now = context.clock.now()

        var updated = item
        updated.attempts += 1
        updated.windowAttempts += 1
        updated.lastStatus = status
        updated.lastError = failure
        let result: RelayAttemptResult
        if failure == nil {
            updated.state = .delivered
            updated.deliveredAt = now
            result = .delivered
        } else if !permanent,
            let next = backoff.nextAttempt(
                afterFailedAttempts: updated.windowAttempts, firstAttemptAt: item.windowStartAt, now: now)
        {
            updated.nextAttemptAt = next
            result = .failed
        } else {
            updated.state = .gaveUp
            updated.gaveUpAt = now
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
                 "error": failure, "result": result.rawValue, "probe": String(probe)])
        }
        if let destination {
            await apply(breaker.record(destination, signal, relay: id, probe: probe, now: now), destination, now: now)
        }
    }

    /// The request headers of one attempt: Kie's signing headers as received (passed on when
    /// the agent has no key to sign with), the markers of a synthesized or replayed body, and
    /// with a key, a signature made now.
    private func headers(for item: RelayOutboxItem, at now: EpochMillis) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "User-Agent": "kiewatch/\(KieWatchVersion.current)"]
        for line in item.headers.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        if item.synthesized { headers.set(SynthesizedCallback.recoveredHeader, "true") }
        if item.replayed { headers.set(ReplayReport.header, "true") }
        if let key = context.configuration.webhookHMACKey {
            let timestamp = String(now / 1000)
            headers.set("X-Webhook-Timestamp", timestamp)
            // Over Kie's task id (a 4K request's parent id), as Kie signs the callback.
            let taskID = TaskFamily.kieTaskID(tracked: item.taskID)
            headers.set("X-Webhook-Signature", HMACSHA256.kieSignature(key: key, taskId: taskID, timestamp: timestamp))
        }
        return headers
    }

    /// Answers that say the destination is down rather than that it refused this one request.
    private static func saysDown(_ status: Int) -> Bool {
        (500...599).contains(status) || status == 408 || status == 429
    }

    // MARK: Circuit breaker

    /// A relay its destination's open circuit does not let through: it waits for the next
    /// probe (its next attempt moved there, so it leaves the due list), or gives up, unattempted,
    /// once its give-up window has passed, counted as `gave_up` like a last failed attempt.
    private func hold(_ item: RelayOutboxItem, until: EpochMillis, destination: RelayDestination, now: EpochMillis) async {
        guard let id = item.id else { return }
        // The first instant past the window, as `RelayBackoff` counts it.
        let windowEnd = item.windowStartAt.saturatingAdding(backoff.giveUpAfterMillis).saturatingAdding(1)
        if now < windowEnd {
            do {
                _ = try await context.writer.write { ctx in try ctx.deferRelay(id: id, until: min(until, windowEnd)) }
                // The circuit closed while this was written, after it released what it held:
                // this relay goes now too.
                if !breaker.isOpen(destination) {
                    _ = try await context.writer.write { ctx in try ctx.releaseHeldRelay(id: id, at: now) }
                    context.relayWakeup.signal()
                }
            } catch {
                context.storeFailed("relay", error, task: item.taskID)
            }
            return
        }
        var given = item
        given.lastError = (item.lastError.map { "\($0); " } ?? "")
            + "given up unattempted: the circuit of \(destination) stayed open"
        given.gaveUpAt = now
        let saved = given
        do {
            try await context.writer.write { ctx in try ctx.giveUpHeldRelay(saved, at: now) }
        } catch {
            context.storeFailed("relay", error, task: item.taskID)
        }
        context.metrics.relayAttempts.labels(RelayAttemptResult.gaveUp.rawValue).increment()
        context.logger.warn(
            "relay.failed",
            ["task": item.taskID, "url": URLRedaction.redact(item.url), "attempt": String(item.attempts),
             "error": saved.lastError ?? "", "result": RelayAttemptResult.gaveUp.rawValue])
    }

    /// Logs a circuit's change, updates its gauge, and sends what a closing circuit held.
    private func apply(_ transition: RelayCircuitBreaker.Transition, _ destination: RelayDestination, now: EpochMillis) async {
        switch transition {
        case .unchanged:
            return
        case .opened(let next):
            context.logger.warn(
                "relay.circuit_open",
                ["destination": destination.description, "failures": String(breaker.failureThreshold),
                 "next_probe_in": DurationText.format(millis: max(0, next - now))])
        case .probeFailed(let next):
            context.logger.info(
                "relay.circuit_probe_failed",
                ["destination": destination.description, "next_probe_in": DurationText.format(millis: max(0, next - now))])
        case .closed(let held):
            context.logger.info("relay.circuit_closed", ["destination": destination.description, "held": String(held.count)])
            do {
                for chunk in stride(from: 0, to: held.count, by: 1_000).map({ Array(held[$0..<min($0 + 1_000, held.count)]) }) {
                    try await context.writer.write { ctx in
                        for id in chunk { try ctx.releaseHeldRelay(id: id, at: now) }
                    }
                }
            } catch {
                context.storeFailed("relay", error)
            }
            context.relayWakeup.signal()
        }
        publishCircuits()
    }

    /// Sets `kiewatch_relay_circuit_open`: 1 per open destination (past the label cap, `other`
    /// is 1 while any of the folded ones is open), 0 for those shown before and closed since.
    func publishCircuits() {
        let metrics = context.metrics
        shownCircuits.withLock { shown in
            var open: Set<String> = []
            for circuit in breaker.snapshot() where circuit.isOpen {
                open.insert(metrics.destinations.fold(circuit.destination))
            }
            for label in open { metrics.relayCircuitOpen.labels(label).set(1) }
            for label in shown.subtracting(open) { metrics.relayCircuitOpen.labels(label).set(0) }
            shown = open
        }
    }
}
