import KieWatchCore
import KieWatchHTTP

/// Every task family of the table (`TaskFamily.all`): creates, status answers and callbacks.
///
/// Market and Veo keep the richer shapes of Kie's samples (`KieSimulator+Market.swift`,
/// `+Veo.swift`); every other family's status `data` is written by `KieWire.statusData` and
/// its callbacks by `KieWire.callbackBody`, from the task's `report`, so what the simulator
/// sends is what the table says the family sends. What the writers leave to the task (a
/// failure's own state name, Suno's step names, GPT-4o's progress fraction) is spelled here
/// from the table's state fields and `SimulatedFamily`, never by a branch per family.
extension KieSimulator {

    // MARK: Creates

    /// A create of a family without a handler of its own: the body must be a JSON object; a
    /// `callBackUrl`, when given (and where Kie requires one: Runway extend, Suno), must be an
    /// http(s) URL; the model is what the table's `ModelRule` reads. A create that names an
    /// earlier task (Veo extend and 4K, Runway extend) must name a successful task polled at
    /// the same status endpoint. Veo 4K answers the parent's id and runs a job of its own,
    /// keyed `<parent>#4k<index>` as the agent tracks it (`TaskFamily.trackedTaskID`).
    func createFamilyTask(_ request: HTTPRequest, family: TaskFamily, endpoint: TaskFamily.Endpoint, now: EpochMillis)
        async -> HTTPResponse
    {
        let simulated = SimulatedFamily.of(family)
        guard let body = Self.jsonObject(request.body) else { return invalid(400, "Invalid request body") }
        let callBackUrl = body["callBackUrl"]?.nonEmptyString
        if let callBackUrl, !Self.isValidCallbackURL(callBackUrl) { return invalid(422, "callBackUrl is invalid") }
        if callBackUrl == nil, simulated.callbackRequired.contains(endpoint.label) {
            return invalid(422, "callBackUrl is required")
        }
        if let allowed = simulated.models, let key = family.model.key, let named = body[key]?.nonEmptyString,
            !allowed.contains(named)
        {
            return invalid(422, "\(key) is not supported")
        }
        guard let model = family.model(inCreate: body) else { return invalid(422, "\(family.model.key ?? "model") is required") }

        let reusesParent = family.parentTaskSuffix != nil
        guard reusesParent || simulated.extends.contains(endpoint.label) else {
            return await admit(family: family, model: model, request: body, callBackUrl: callBackUrl, resolution: "", now: now)
        }
        guard let parentID = body.first("taskId", "task_id")?.nonEmptyString else { return invalid(422, "taskId is required") }
        if let refusal = refusingSource(parentID, for: family, now: now) { return refusal }
        guard reusesParent else {
            return await admit(
                family: family, model: model, request: body, callBackUrl: callBackUrl, resolution: "", sourceTaskId: parentID,
                now: now)
        }
        if let index = body["index"], !index.isNull, index.intValue.map({ (0..<1_000_000).contains($0) }) != true {
            return invalid(422, "index is invalid")
        }
        let jobID = family.trackedTaskID(kieTaskID: parentID, create: body)
        // One job per parent and index. Asked for again (Kie's docs poll 4K so, every 30 s or
        // more): while it runs the running answer, once done its result, or its failure.
        let job = state.withLock { state -> SimulatedTask? in
            state.advance(jobID, to: now, configuration: configuration)
            return state.tasks[jobID]
        }
        if let job { return repeatedRequestAnswer(job) }
        return await admit(
            family: family, model: model, request: body, callBackUrl: callBackUrl, resolution: "", id: jobID,
            kieTaskId: parentID, sourceTaskId: parentID, now: now)
    }

    /// Why a create may not build on task `id`, or nil when it may: the task must exist, be
    /// of a family it builds on (`SimulatedFamily.buildsOn`; else one polled where `family`'s
    /// tasks are: Veo extend builds on Veo tasks), not be a job reusing another's id, and have
    /// succeeded.
    func refusingSource(_ id: String, for family: TaskFamily, now: EpochMillis) -> HTTPResponse? {
        let source = state.withLock { state -> SimulatedTask? in
            state.advance(id, to: now, configuration: configuration)
            return state.tasks[id]
        }
        let buildsOn = SimulatedFamily.of(family).buildsOn
        guard let source, source.family.parentTaskSuffix == nil,
            buildsOn?.contains(source.family.rawValue) ?? (source.family.status.path == family.status.path)
        else {
            return invalid(422, "taskId is invalid: no such task")
        }
        switch source.state {
        case .success: return nil
        case .fail: return invalid(422, "taskId is invalid: the task failed")
        default: return invalid(400, "The task is still being generated, please try again later")
        }
    }

    /// A request for a job that exists (Veo 4K asked for again): the running answer while it
    /// runs; `{taskId, resultUrls, imageUrls}` once it succeeded; the family's failure answer
    /// (`failedAnswers`: 500 "... unavailable") once it failed.
    func repeatedRequestAnswer(_ job: SimulatedTask) -> HTTPResponse {
        switch job.state {
        case .success:
            var data = KieWire.statusData(for: job.report, family: job.family)
            // Beside the results, the posters a callback carries (4K's `imageUrls`).
            if let posters = SimulatedFamily.of(job.family).posters, let key = posters.steps.last?.key {
                data = FieldPath(key).writing(.array(job.posterUrls.map(JSONValue.string)), into: data)
            }
            return Self.success(data)
        case .fail:
            let code = job.family.failedAnswers.first?.code ?? 500
            return .kieError(code: code, msg: job.family.shape.failureMessage, status: 200)
        default:
            return runningAnswer(for: job.family)
        }
    }

    /// The status answer while a job reusing a task's id runs (Veo 4K's 422 "4k is processing"):
    /// the table's `runningAnswers` code, no record.
    func runningAnswer(for family: TaskFamily) -> HTTPResponse {
        let code = family.runningAnswers.first?.code ?? 422
        return .json(["code": .int(Int64(code)), "msg": .string(SimulatedFamily.of(family).runningMessage), "data": nil])
    }

    // MARK: Status

    /// A status call (`GET <status path>?<taskIdParameter>=ID`) of any family: the task's record
    /// as its family writes it.
    func statusAnswer(_ request: HTTPRequest, endpoint: TaskFamily.Endpoint, now: EpochMillis) -> HTTPResponse {
        switch statusTask(request, endpoint: endpoint, now: now) {
        case .found(let task): Self.success(Self.statusData(task, now: now))
        case .answer(let refusal): refusal
        }
    }

    /// What a status call asks about: the task, brought up to `now`, or Kie's answer when the id
    /// is missing or unknown at this endpoint.
    enum StatusLookup {
        case found(SimulatedTask)
        case answer(HTTPResponse)
    }

    /// Faults first: within `statusLag` of its create a task is not found yet (404); while a job
    /// reusing its id runs (Veo 4K) the answer is that job's running answer; once ended a task
    /// with a status fault answers its code (501/408) with no record. A task is known at its
    /// family's status endpoint only (Veo, extend: `veo/record-info`); a job reusing another
    /// task's id is never known by its own key.
    func statusTask(_ request: HTTPRequest, endpoint: TaskFamily.Endpoint, now: EpochMillis) -> StatusLookup {
        guard let id = request.queryItem(endpoint.taskIdParameter), !id.isEmpty else {
            return .answer(invalid(422, "\(endpoint.taskIdParameter) is required"))
        }
        let (task, job) = state.withLock { state -> (SimulatedTask?, SimulatedTask?) in
            state.advance(id, to: now, configuration: configuration)
            return (state.tasks[id], state.runningReusingJob(of: id, at: now, configuration: configuration))
        }
        guard let task, task.family.status.path == endpoint.path, task.family.parentTaskSuffix == nil else {
            state.withLock { $0.stats.validationErrors += 1 }
            return .answer(.json(["code": 422, "msg": "recordInfo is null", "data": nil]))
        }
        if now - task.createTime < scaledMillis(configuration.statusLag) {
            state.withLock { $0.stats.statusLagAnswers += 1 }
            return .answer(.json(["code": 404, "msg": "Task not found", "data": nil]))
        }
        if let job {
            state.withLock { $0.stats.processingAnswers += 1 }
            return .answer(runningAnswer(for: job.family))
        }
        if task.state.isTerminal, let code = task.plan.statusFault {
            state.withLock { $0.stats.statusFaults += 1 }
            return .answer(.kieError(code: code, msg: task.plan.failure?.message ?? "Generation failed", status: 200))
        }
        return .found(task)
    }

    /// A status answer's `data` for `task` at `now`.
    static func statusData(_ task: SimulatedTask, now: EpochMillis) -> JSONValue {
        switch task.family {
        case .market: return marketRecord(task, now: now)
        case .veo: return veoRecord(task)
        default: return familyRecord(task, now: now)
        }
    }

    /// The record of a family written by the table (`KieWire.statusData`), with the state
    /// spelled as this task's: a failure's own name (`successFlag` 3, `GENERATE_AUDIO_FAILED`),
    /// the step a task with progress callbacks reached (Suno's `TEXT_SUCCESS`, then
    /// `FIRST_SUCCESS`), and a progress fraction where the family reports one.
    static func familyRecord(_ task: SimulatedTask, now: EpochMillis) -> JSONValue {
        var data = KieWire.statusData(for: task.report, family: task.family)
        let failure = task.state == .fail ? task.plan.failure : nil
        let step = task.state.isTerminal ? 0 : task.progressSteps(at: now)
        for field in task.family.states where field.path.value(in: data) != nil {
            if let failure {
                let names = [failure.stateName, String(failure.veoSuccessFlag)].compactMap { $0 }
                if let name = names.first(where: { field.meaning(of: .string($0)) == .state(.fail) }) {
                    data = field.path.writing(spelling(name, numeric: field.numeric), into: data)
                }
            } else if step > 0 {
                // One running spelling per progress kind, in order (Suno: TEXT_SUCCESS, FIRST_SUCCESS).
                let steps = field.values.filter { $0.meaning == .state(.generating) }.map(\.spelling)
                if steps.count >= task.progressKinds.count {
                    data = field.path.writing(spelling(steps[step - 1], numeric: field.numeric), into: data)
                }
            }
        }
        if let path = SimulatedFamily.of(task.family).progressFraction, task.state != .fail {
            let percent = task.state == .success ? 100 : task.progress(at: now)
            data = path.writing(.string(fraction(percent)), into: data)
        }
        return data
    }

    private static func spelling(_ text: String, numeric: Bool) -> JSONValue {
        if numeric, let n = Int64(text) { return .int(n) }
        return .string(text)
    }

    /// Percent as Kie's string fraction: 45 -> "0.45", 100 -> "1.00".
    static func fraction(_ percent: Int) -> String {
        let p = min(max(percent, 0), 100)
        return "\(p / 100).\(p % 100 < 10 ? "0" : "")\(p % 100)"
    }

    // MARK: Callbacks

    /// The last callback of a terminal task (market and Veo in their sample shapes).
    static func callbackBody(for task: SimulatedTask) -> [UInt8] {
        switch task.family {
        case .market: marketCallback(task).serializedBytes()
        case .veo: veoCallback(task).serializedBytes()
        default: familyCallback(task.report, task: task).serializedBytes()
        }
    }

    /// A callback of a family written by the table (`KieWire.callbackBody`) from `report` (the
    /// task's, or a progress step's), with the family's poster images on success and, for a
    /// family whose failure may come without data (Veo 4K), `data: null` for legacy-payload tasks.
    static func familyCallback(_ report: TaskReport, task: SimulatedTask) -> JSONValue {
        let simulated = SimulatedFamily.of(task.family)
        let record = report.state.isTerminal ? familyRecord(task, now: task.completeAt) : .null
        var body = KieWire.callbackBody(for: report, family: task.family, statusData: record)
        if report.state == .success, let posters = simulated.posters {
            body = FieldPath("data.\(posters)").writing(.array(task.posterUrls.map(JSONValue.string)), into: body)
        }
        if report.state == .fail, simulated.failureDataMayBeNull, task.plan.legacyPayload {
            body = FieldPath("data").writing(.null, into: body)
        }
        return body
    }
}
