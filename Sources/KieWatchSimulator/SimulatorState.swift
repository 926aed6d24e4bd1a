import KieWatchCore
import KieWatchHTTP

/// Everything mutable in a `KieSimulator`, kept in one value behind one `Mutex`.
///
/// Mutations happen only inside `withLock` and never across an `await`, so a request and a
/// `tick()` see each other's changes whole. Two generators keep the streams apart: task draws
/// depend only on the sequence of creates, request faults only on the sequence of requests.
struct SimulatorState: Sendable {
    var taskRandom: SeededRandom
    var requestRandom: SeededRandom
    /// Status faults have a stream of their own: turning them on changes no other choice.
    var statusRandom: SeededRandom
    var tasks: [String: SimulatedTask] = [:]
    /// Ids of non-terminal tasks in creation order (an array, not a set: the order of completions
    /// and callbacks must not depend on hashing).
    var active: [String] = []
    var pending: [PendingCallback] = []
    var nextSequence = 0
    var deliveries: [CallbackDelivery] = []
    var stats = SimulatorStats()
    var credits: Int64
    /// Accepted create times per API key, for the sliding-window rate limit.
    var createTimes: [String: [EpochMillis]] = [:]
    var uploads = 0
    /// Jobs that reuse an earlier task's id (Veo 4K), by that id: while one runs, the status
    /// call about the earlier task answers the job's running answer.
    var reusingJobs: [String: [String]] = [:]

    init(configuration: SimulatorConfiguration) {
        taskRandom = SeededRandom(seed: configuration.seed)
        requestRandom = SeededRandom(seed: configuration.seed ^ 0xD1B5_4A32_D192_ED03)
        statusRandom = SeededRandom(seed: configuration.seed ^ 0x94D0_49BB_1331_11EB)
        credits = configuration.initialCredits
        stats.creditsRemaining = credits
    }

    // MARK: Request faults

    /// Draws this request's faults: always the same number of draws, so one rate does not shift
    /// another's choices.
    mutating func drawRequestFaults(configuration c: SimulatorConfiguration) -> RequestFaults {
        let reset = requestRandom.chance(c.connectionResetRate)
        let slow = requestRandom.chance(c.slowAnswerRate)
        let error = requestRandom.chance(c.serverErrorRate)
        let kind = requestRandom.integer(in: 0...5)
        return RequestFaults(reset: reset, slow: slow, serverError: error ? RequestFaults.ServerError(roll: kind) : nil)
    }

    /// Sliding-window create limit per key: counts accepted creates in `(now - window, now]`.
    mutating func allowCreate(key: String, now: EpochMillis, limit: SimulatorConfiguration.RateLimit?) -> Bool {
        guard let limit else { return true }
        var times = createTimes[key, default: []]
        let windowStart = now - limit.window.milliseconds
        times.removeAll { $0 <= windowStart }
        let allowed = times.count < limit.requests
        if allowed { times.append(now) }
        createTimes[key] = times
        return allowed
    }

    // MARK: Tasks

    enum Admission {
        case rejected(HTTPResponse)
        /// Accepted; `early` are the callback attempts to deliver before answering.
        case accepted(task: SimulatedTask, early: [PendingCallback])
    }

    /// Creates a task if the balance covers it: draws its id (unless `id` is given: a job that
    /// reuses an earlier task's id, Veo 4K) and its fate, reserves its credits, and for an early
    /// task completes it at once and hands back its first callbacks.
    mutating func admit(
        family: TaskFamily, model: String, request: JSONValue, callBackUrl: String?, resolution: String,
        id fixedID: String? = nil, kieTaskId: String? = nil, sourceTaskId: String? = nil, now: EpochMillis,
        configuration c: SimulatorConfiguration
    ) -> Admission {
        let profile = ModelProfile.forModel(model)
        guard credits >= profile.credits else {
            stats.insufficientCredits += 1
            return .rejected(.kieError(code: 402, msg: "Insufficient Credits", status: 200))
        }
        let simulated = SimulatedFamily.of(family)
        var id: String
        if let fixedID {
            id = fixedID
        } else {
            id = simulated.newTaskID(&taskRandom)
            while tasks[id] != nil { id = simulated.newTaskID(&taskRandom) }
        }
        var plan = FaultPlan.draw(
            profile: profile, family: family, hasCallback: callBackUrl != nil, configuration: c, random: &taskRandom)
        let statusFault = statusRandom.chance(c.statusFaultRate)
        let statusCode = statusRandom.integer(in: 0...1) == 0 ? 501 : 408
        // A job that reuses its parent's id is never polled by its own id: its status is the
        // parent's, so a status fault has nothing to answer.
        if statusFault, family.parentTaskSuffix == nil { plan.failStatus(with: statusCode, family: family) }
        let task = SimulatedTask(
            id: id, kieTaskId: kieTaskId, sourceTaskId: sourceTaskId, family: family, model: model, request: request,
            callBackUrl: callBackUrl, createTime: now, cost: profile.credits, plan: plan, profile: profile,
            resolution: resolution, resultCount: simulated.resultCount, mediaBaseURL: c.mediaBaseURL)
        credits -= profile.credits
        stats.creditsRemaining = credits
        stats.tasksCreated[model, default: 0] += 1
        stats.tasksCreatedByFamily[family.rawValue, default: 0] += 1
        if tasks[id] == nil, task.kieTaskId != id { reusingJobs[task.kieTaskId, default: []].append(id) }
        tasks[id] = task
        active.append(id)
        guard plan.early else { return .accepted(task: task, early: []) }

        stats.callbacksEarly += 1
        advance(id, to: now, configuration: c)
        // The first copy of each callback goes out before the answer, in order; any duplicates
        // stay scheduled.
        var early: [PendingCallback] = []
        pending.removeAll { callback in
            guard callback.taskId == id, callback.copy == 0, callback.dueAt <= now else { return false }
            early.append(callback)
            return true
        }
        return .accepted(task: tasks[id] ?? task, early: early.sorted { $0.sequence < $1.sequence })
    }

    /// Moves every running task to its scheduled state at `now`, scheduling callbacks of those
    /// that end.
    mutating func advanceAll(to now: EpochMillis, configuration c: SimulatorConfiguration) {
        for id in active { advance(id, to: now, configuration: c) }
    }

    /// Moves one task to its scheduled state at `now`, scheduling the progress callbacks it
    /// reached; on reaching a terminal state settles its credits and schedules its last callback.
    mutating func advance(_ id: String, to now: EpochMillis, configuration c: SimulatorConfiguration) {
        guard var task = tasks[id] else { return }
        let ended = task.advance(to: now)
        let reached = task.progressSteps(at: now)
        let firstStep = task.progressScheduled
        task.progressScheduled = max(firstStep, reached)
        tasks[id] = task
        for step in firstStep..<max(firstStep, reached) { scheduleProgressCallback(for: task, step: step) }
        guard ended else { return }
        active.removeAll { $0 == id }
        if task.state == .success {
            stats.tasksSucceeded += 1
            stats.creditsConsumed += task.cost
        } else {
            stats.tasksFailed += 1
            credits += task.cost
            stats.creditsRemaining = credits
        }
        task.remainedCredits = credits
        tasks[id] = task
        scheduleCallbacks(for: task)
    }

    /// Whether a job reusing task `id`'s id (Veo 4K) is running at `now`; the first such job.
    mutating func runningReusingJob(of id: String, at now: EpochMillis, configuration c: SimulatorConfiguration)
        -> SimulatedTask?
    {
        for job in reusingJobs[id] ?? [] {
            advance(job, to: now, configuration: c)
            if let task = tasks[job], !task.state.isTerminal { return task }
        }
        return nil
    }

    /// A progress callback (Suno's `text`, `first`) goes out when its step is reached, once,
    /// with the usual retries: the callback faults (drop, duplicate, late) hit only the task's
    /// last callback, the one that says how it ended.
    private mutating func scheduleProgressCallback(for task: SimulatedTask, step: Int) {
        guard let url = task.callBackUrl, step < task.progressTimes.count else { return }
        let report = task.progressReport(step: step)
        let body = KieSimulator.familyCallback(report, task: task).serializedBytes()
        enqueue(
            PendingCallback(
                sequence: 0, taskId: task.id, kieTaskId: task.kieTaskId, kind: report.callbackKind, url: url, body: body,
                dueAt: task.progressTimes[step], attempt: 1, copy: 0))
    }

    private mutating func scheduleCallbacks(for task: SimulatedTask) {
        guard let url = task.callBackUrl else { return }
        if task.plan.dropCallback {
            stats.callbacksDropped += 1
            tasks[task.id]?.callbackFailed = true
            return
        }
        if task.plan.lateMillis > 0 { stats.callbacksLate += 1 }
        stats.callbacksDuplicated += task.plan.callbackCopies - 1
        let body = KieSimulator.callbackBody(for: task)
        let kind: String? =
            if case .kinds(_, _, let final, let failure) = task.family.callbacks {
                task.state == .success ? final : failure
            } else { nil }
        for copy in 0..<task.plan.callbackCopies {
            let due = task.completeAt + task.plan.lateMillis + Int64(copy) * task.plan.duplicateGapMillis
            enqueue(
                PendingCallback(
                    sequence: 0, taskId: task.id, kieTaskId: task.kieTaskId, kind: kind, url: url, body: body, dueAt: due,
                    attempt: 1, copy: copy))
        }
    }

    private mutating func enqueue(_ callback: PendingCallback) {
        var callback = callback
        callback.sequence = nextSequence
        nextSequence += 1
        pending.append(callback)
    }

    // MARK: Callbacks

    /// Removes and returns the callbacks due at `now`, oldest due first.
    mutating func takeDue(now: EpochMillis) -> [PendingCallback] {
        guard pending.contains(where: { $0.dueAt <= now }) else { return [] }
        var due: [PendingCallback] = []
        pending.removeAll { callback in
            guard callback.dueAt <= now else { return false }
            due.append(callback)
            return true
        }
        return due.sorted { ($0.dueAt, $0.sequence) < ($1.dueAt, $1.sequence) }
    }

    /// Records one attempt; a failed one is retried after the retry delay until the retries run out.
    mutating func record(
        _ callback: PendingCallback, result: CallbackResult, headers: HTTPHeaders, sentAt: EpochMillis, now: EpochMillis,
        configuration c: SimulatorConfiguration
    ) {
        deliveries.append(
            CallbackDelivery(
                taskId: callback.taskId, url: callback.url, attempt: callback.attempt, copy: callback.copy,
                kind: callback.kind, result: result, time: sentAt, body: callback.body, headers: headers))
        // Trim in chunks of a tenth so the cost of forgetting stays amortized O(1) per attempt.
        let limit = max(c.maxRecordedDeliveries, 0)
        if deliveries.count > limit + limit / 10 { deliveries.removeFirst(deliveries.count - limit) }
        stats.callbacksSent += 1
        if callback.attempt > 1 { stats.callbackRetries += 1 }
        if result.isSuccess {
            stats.callbacksDelivered += 1
        } else if callback.attempt <= c.maxCallbackRetries {
            var retry = callback
            retry.attempt += 1
            retry.dueAt = now + Int64((Double(c.callbackRetryDelay.milliseconds) / c.speed).rounded())
            enqueue(retry)
        } else {
            stats.callbacksFailedDelivery += 1
            tasks[callback.taskId]?.callbackFailed = true
        }
    }

    /// The next instant something is due (a state change or a callback), for `run()` to sleep until.
    func nextDueTime() -> EpochMillis? {
        let transitions = active.compactMap { tasks[$0]?.nextTransition }
        return (transitions + pending.map(\.dueAt)).min()
    }
}
