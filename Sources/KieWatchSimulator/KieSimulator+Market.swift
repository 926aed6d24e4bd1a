import KieWatchCore
import KieWatchHTTP

/// The market family's create (`POST /api/v1/jobs/createTask`), record and callback, shaped like
/// Kie's samples (the status call is routed by the family table, `KieSimulator+Families.swift`).
extension KieSimulator {
    /// Validates `{"model","callBackUrl"?,"input":{...}}` and admits the task.
    ///
    /// `prompt` is required for text-to-video models only: image- and video-driven models
    /// (motion control, storyboards) are created without one.
    func createMarketTask(_ request: HTTPRequest, now: EpochMillis) async -> HTTPResponse {
        guard let body = Self.jsonObject(request.body) else { return invalid(400, "Invalid request body") }
        guard let model = body["model"]?.nonEmptyString else { return invalid(422, "model is required") }
        guard let input = body["input"], input.objectValue != nil else { return invalid(422, "input is required") }
        if model.contains("text-to-video"), input["prompt"]?.nonEmptyString == nil {
            return invalid(422, "prompt is required")
        }
        let callBackUrl = body["callBackUrl"]?.nonEmptyString
        if let callBackUrl, !Self.isValidCallbackURL(callBackUrl) { return invalid(422, "callBackUrl is invalid") }
        return await admit(family: .market, model: model, request: body, callBackUrl: callBackUrl, resolution: "", now: now)
    }

    /// The `data` of a recordInfo answer, shaped like Tests/Fixtures/kie/recordinfo-*.json: `failCode` and
    /// `failMsg` are `""` unless failed, `resultJson`/`costTime`/`completeTime` null until terminal.
    static func marketRecord(_ task: SimulatedTask, now: EpochMillis) -> JSONValue {
        let terminal = task.state.isTerminal
        var members: [(key: String, value: JSONValue)] = [
            ("taskId", .string(task.id)),
            ("model", .string(task.model)),
            ("state", .string(task.state.rawValue)),
            ("param", .string(task.param)),
            ("resultJson", task.state == .success ? .string(resultJson(task)) : .null),
            ("failCode", .string(task.plan.failure.map { String($0.code) } ?? "").ifFailed(task)),
            ("failMsg", .string(task.plan.failure?.message ?? "").ifFailed(task)),
            ("costTime", task.state == .success ? .int(task.costTime) : .null),
            ("completeTime", terminal ? .int(task.completeAt) : .null),
            ("createTime", .int(task.createTime)),
            ("updateTime", .int(task.updateTime)),
        ]
        if task.reportsProgress { members.append(("progress", .int(Int64(task.progress(at: now))))) }
        members.append(("creditsConsumed", terminal ? .int(task.state == .success ? task.cost : 0) : .null))
        return .object(members)
    }

    /// `resultJson` as Kie sends it: JSON text, with watermarked copies for Sora.
    static func resultJson(_ task: SimulatedTask) -> String {
        var result: JSONValue = ["resultUrls": .array(task.resultUrls.map { .string($0) })]
        if task.reportsProgress, case .object(var members) = result {
            members.append(("resultWaterMarkUrls", .array(task.watermarkUrls.map { .string($0) })))
            result = .object(members)
        }
        return result.serialized()
    }

    /// The market callback, shaped like Tests/Fixtures/kie/callback-market-*.json. Legacy-payload tasks
    /// report credits as `consumeCredits`/`remainedCredits`, the others as `creditsConsumed`.
    static func marketCallback(_ task: SimulatedTask) -> JSONValue {
        let succeeded = task.state == .success
        var data: [(key: String, value: JSONValue)] = [
            ("taskId", .string(task.id)),
            ("model", .string(task.model)),
            ("state", .string(task.state.rawValue)),
            ("param", .string(task.param)),
            ("resultJson", succeeded ? .string(resultJson(task)) : .null),
            ("failCode", task.plan.failure.map { .string(String($0.code)) } ?? .null),
            ("failMsg", task.plan.failure.map { .string($0.message) } ?? .null),
            ("costTime", succeeded ? .int(task.costTime) : .null),
            ("completeTime", .int(task.completeAt)),
            ("createTime", .int(task.createTime)),
            ("updateTime", .int(task.updateTime)),
        ]
        let consumed: Int64 = succeeded ? task.cost : 0
        if task.plan.legacyPayload {
            data.append(("consumeCredits", .int(consumed)))
            data.append(("remainedCredits", .int(task.remainedCredits ?? 0)))
        } else {
            data.append(("creditsConsumed", .int(consumed)))
        }
        return [
            "code": succeeded ? 200 : 501,
            "msg": succeeded ? "Playground task completed successfully." : "Playground task failed.",
            "data": .object(data),
        ]
    }
}

extension JSONValue {
    /// Kie leaves `failCode`/`failMsg` empty until a task has failed.
    fileprivate func ifFailed(_ task: SimulatedTask) -> JSONValue {
        task.state == .fail ? self : ""
    }
}
