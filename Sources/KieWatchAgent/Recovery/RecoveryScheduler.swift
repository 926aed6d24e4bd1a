import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchStore
import Synchronization

/// Sync-recovery: polls Kie's status endpoint for stale tasks (past their model's deadline
/// with no callback), under a global rate, with per-task backoff per Kie's cadence. A task
/// found terminal is recovered: a missed webhook is counted and a synthesized callback goes
/// to the app through the relay. The console's `sync` runs the same code.
final class RecoveryScheduler: Sendable {
    let context: AgentContext
    let cadence: RecoveryCadence
    let bucket: TokenBucket
    /// How long one status poll may take.
    let pollTimeout: Duration = .seconds(20)
    private let reader: Mutex<StoreReader>
    /// Runs the reads off the cooperative pool.
    private let reads = BlockingExecutor(label: "kiewatch.recovery.reads")
    private let inFlight = Mutex<Set<String>>([])

    init(context: AgentContext, reader: consuming sending StoreReader) {
        self.context = context
        cadence = RecoveryCadence(giveUpAfterMillis: context.configuration.recoveryGiveUpMillis)
        bucket = TokenBucket(
            ratePerSecond: min(context.configuration.recoveryRatePerSecond, 10), burst: 1, clock: context.clock)
        self.reader = Mutex(reader)
    }

    var isEnabled: Bool { context.configuration.apiKey != nil }

    /// Polls the stale tasks that are due, as many as the rate allows now; returns the reports.
    @discardableResult
    func tick() async -> [SyncReport] {
        guard isEnabled else { return [] }
        let now = context.clock.now()
        let due: [TaskRecord]
        do {
            due = try await reads.run { try self.reader.withLock { try $0.recoveryDue(now: now, limit: 64) } }
        } catch {
            context.logger.error("recovery.read_failed", ["error": "\(error)"])
            return []
        }
        var chosen: [TaskRecord] = []
        for task in due {
            guard claim(task.taskID) else { continue }
            guard bucket.tryAcquire() else {
                release(task.taskID)
                break
            }
            chosen.append(task)
        }
        return await withTaskGroup(of: SyncReport.self) { group in
            for task in chosen {
                group.addTask {
                    defer { self.release(task.taskID) }
                    return await self.poll(task)
                }
            }
            var reports: [SyncReport] = []
            for await report in group { reports.append(report) }
            return reports
        }
    }

    /// Runs until cancelled, ticking a few times a second.
    func run() async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// `sync ID`: poll one task now (waiting for the rate limit), whatever its deadline.
    func sync(taskID: String) async -> SyncReport {
        guard isEnabled else { return SyncReport(taskID: taskID, result: .recoveryOff, detail: "KIE_API_KEY is not set") }
        let task: TaskRecord?
        do {
            task = try await reads.run { try self.reader.withLock { try $0.task(id: taskID) } }
        } catch {
            return SyncReport(taskID: taskID, result: .error, detail: "\(error)")
        }
        guard let task else { return SyncReport(taskID: taskID, result: .unknownTask) }
        guard !task.state.isTerminal || task.owesCallback else {
            return SyncReport(taskID: taskID, model: task.model, result: .alreadyTerminal, state: task.state)
        }
        guard claim(taskID) else {
            return SyncReport(taskID: taskID, model: task.model, result: .stillRunning, state: task.state,
                              detail: "a poll of this task is already under way")
        }
        defer { release(taskID) }
        await waitForToken()
        return await poll(task)
    }

    /// `sync stale`: poll every stale task now (still under the rate limit).
    func syncStale(limit: Int) async -> [SyncReport] {
        guard isEnabled else { return [SyncReport(taskID: "-", result: .recoveryOff, detail: "KIE_API_KEY is not set")] }
        let stale: [TaskRecord]
        do {
            let now = context.clock.now()
            stale = try await reads.run { try self.reader.withLock { try $0.staleTasks(now: now, limit: limit) } }
        } catch {
            return [SyncReport(taskID: "-", result: .error, detail: "\(error)")]
        }
        var reports: [SyncReport] = []
        for task in stale {
            reports.append(await sync(taskID: task.taskID))
        }
        return reports
    }

    /// A status poll for `replay` (a finished task whose callback never came), under the
    /// same rate limit; not recorded here. nil when the agent's stop cut it.
    func pollForReplay(_ task: TaskRecord) async -> (TaskWrites.PollResult, APICallRecord)? {
        await waitForToken()
        return await fetchStatus(task)
    }

    private func waitForToken() async {
        while !bucket.tryAcquire() {
            let wait = max(1, bucket.millisUntilAvailable())
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    private func claim(_ id: String) -> Bool { inFlight.withLock { $0.insert(id).inserted } }
    private func release(_ id: String) { _ = inFlight.withLock { $0.remove(id) } }

    /// One status poll and its recorded outcome.
    func poll(_ task: TaskRecord) async -> SyncReport {
        guard let (pollResult, call) = await fetchStatus(task) else {
            return SyncReport(taskID: task.taskID, model: task.model, result: .error, detail: "the agent is stopping")
        }
        let now = context.clock.now()
        let outcome: TaskWrites.RecoveryOutcome
        do {
            outcome = try await context.writer.write { [cadence, scrubber = context.scrubber] ctx in
                try TaskWrites.recordRecovery(
                    ctx, taskID: task.taskID, poll: pollResult, call: call, cadence: cadence, scrubber: scrubber, now: now)
            }
        } catch {
            context.storeFailed("recovery", error, task: task.taskID)
            return SyncReport(taskID: task.taskID, model: task.model, result: .error, detail: "store: \(error)")
        }
        context.metrics.observe(call)
        let updated = outcome.task ?? task
        guard let result = outcome.result else {
            return SyncReport(taskID: task.taskID, model: updated.model, result: .alreadyTerminal, state: updated.state)
        }
        context.metrics.recoveryPolls.labels(updated.model, result.rawValue).increment()
        var report = SyncReport(
            taskID: task.taskID, model: updated.model, result: SyncReport.Result(result), state: updated.state,
            missedCounted: outcome.missed, relayQueued: outcome.missed && updated.callbackURL != nil)
        switch pollResult {
        case .error(let message): report.detail = message
        case .notFound where result == .stillRunning:
            report.detail = "Kie does not show the task yet (create and status are not instantly consistent)"
        case .notFound: report.detail = "Kie has no such task (recordInfo is null)"
        case .terminal(let found, _) where found.state == .fail:
            report.detail = "failed: " + [found.failCode, found.failMessage].compactMap { $0 }.joined(separator: " ")
        case .terminal, .running: report.detail = outcome.gaveUp ? "gave up after the recovery limit" : nil
        }
        if result == .recovered {
            if outcome.finished { TaskMetrics.finished(updated, context: context) }
            if outcome.missed { context.metrics.webhooksMissed.labels(updated.model).increment() }
            if report.relayQueued { context.relayWakeup.signal() }
            context.logger.info(
                "recovery.recovered",
                ["task": task.taskID, "model": updated.model, "state": updated.state.rawValue, "missed": String(outcome.missed)])
        } else if outcome.gaveUp {
            context.logger.warn("recovery.gave_up", ["task": task.taskID, "model": updated.model])
        }
        return report
    }

    /// GET the family's status endpoint with the agent's own key; nil when the agent's stop cut
    /// the call (nothing to record: Kie did not fail, and the task is polled after the restart).
    private func fetchStatus(_ task: TaskRecord) async -> (TaskWrites.PollResult, APICallRecord)? {
        let status = task.family.status
        let (method, kieTaskID, body) = task.family.statusRequest(trackedID: task.taskID)
        let path = method == "GET" ? status.path + "?" + status.taskIdParameter + "=" + percentEncode(kieTaskID) : status.path
        var call = APICallRecord.sending(
            KieEndpoint(path: status.path), method: method, path: path, model: task.model, taskID: task.taskID,
            requestBytes: body.count, at: context.clock.now())
        let started = monotonicNanos()
        let response: HTTPResponse
        do {
            var headers: HTTPHeaders = ["Authorization": "Bearer \(context.configuration.apiKey ?? "")"]
            if !body.isEmpty { headers.add("Content-Type", "application/json") }
            let request = try HTTPClientRequest(
                method: method, url: context.configuration.upstream + path, headers: headers, body: body)
            response = try await context.upstream.send(request, timeout: pollTimeout)
        } catch {
            if error == .cancelled && Task.isCancelled { return nil }
            call.failed(error, started: started)
            return (.error("\(error)"), call)
        }
        let envelope = KieEnvelope(body: response.body)
        call.answered(response, envelope: envelope, started: started)
        guard let envelope else { return (.error("HTTP \(response.status), body is not JSON"), call) }
        switch KieWire.statusAnswer(envelope, httpStatus: response.status, family: task.family, taskId: kieTaskID) {
        case .report(let report):
            return report.state.isTerminal ? (.terminal(report, statusData: envelope.data), call) : (.running(report), call)
        case .unknownTask:
            return (.notFound, call)
        case .error(let message):
            return (.error(message), call)
        }
    }
}

extension SyncReport.Result {
    init(_ result: RecoveryResult) {
        switch result {
        case .recovered: self = .recovered
        case .stillRunning: self = .stillRunning
        case .notFound: self = .notFound
        case .error: self = .error
        }
    }
}
