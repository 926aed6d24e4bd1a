import KieWatchCore
import KieWatchHTTP

/// The Veo 3.1 family's create (`POST /api/v1/veo/generate`), record and callback, shaped like
/// Kie's samples, and the 1080p fetch. Veo extend and 4K are table families of their own
/// (`KieSimulator+Families.swift`).
extension KieSimulator {
    static let veoModels: Set<String> = ["veo3", "veo3_fast", "veo3_lite"]
    static let veoAspectRatios: Set<String> = ["16:9", "9:16", "Auto"]
    static let veoGenerationTypes: Set<String> = ["TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO"]

    /// Validates a Veo generate body (prompt required; model veo3|veo3_fast|veo3_lite, default veo3_fast;
    /// aspect ratio under either spelling, 16:9|9:16|Auto, anything else is Kie's `Ratio error`)
    /// and admits the task.
    func createVeoTask(_ request: HTTPRequest, now: EpochMillis) async -> HTTPResponse {
        guard let body = Self.jsonObject(request.body) else { return invalid(400, "Invalid request body") }
        guard body["prompt"]?.nonEmptyString != nil else { return invalid(422, "prompt is required") }
        let model = body["model"]?.nonEmptyString ?? "veo3_fast"
        guard Self.veoModels.contains(model) else { return invalid(422, "model is not supported") }
        let ratio = body.first("aspect_ratio", "aspectRatio")?.nonEmptyString ?? "16:9"
        guard Self.veoAspectRatios.contains(ratio) else { return invalid(422, "Ratio error") }
        if let type = body.first("generationType", "mode")?.nonEmptyString, !Self.veoGenerationTypes.contains(type) {
            return invalid(422, "generationType is invalid")
        }
        let callBackUrl = body["callBackUrl"]?.nonEmptyString
        if let callBackUrl, !Self.isValidCallbackURL(callBackUrl) { return invalid(422, "callBackUrl is invalid") }
        return await admit(
            family: .veo, model: model, request: body, callBackUrl: callBackUrl,
            resolution: ratio == "16:9" ? "1080p" : "720p", now: now)
    }

    /// The `data` of a record-info answer, shaped like Tests/Fixtures/kie/veo-recordinfo-*.json.
    /// Legacy-payload tasks give times as `"YYYY-MM-DD HH:mm:ss"` (UTC) and `resultUrls` as a
    /// JSON-encoded string, two variants seen from Kie.
    static func veoRecord(_ task: SimulatedTask) -> JSONValue {
        let legacy = task.plan.legacyPayload
        func time(_ millis: EpochMillis) -> JSONValue { legacy ? .string(WireShape.dateTimeText(millis)) : .int(millis) }
        let urls: JSONValue = .array(task.resultUrls.map { .string($0) })
        let response: JSONValue =
            task.state == .success
            ? [
                "taskId": .string(task.id),
                "resultUrls": legacy ? .string(urls.serialized()) : urls,
                "originUrls": .array(task.originUrls.map { .string($0) }),
                "resolution": .string(task.resolution),
            ] : .null
        let flag: Int64 =
            switch task.state {
            case .success: 1
            case .fail: Int64(task.plan.failure?.veoSuccessFlag ?? 2)
            default: 0
            }
        let failure = task.state == .fail ? task.plan.failure : nil
        return [
            "taskId": .string(task.id),
            "paramJson": .string(task.param),
            "createTime": time(task.createTime),
            "completeTime": task.state.isTerminal ? time(task.completeAt) : .null,
            "response": response,
            "successFlag": .int(flag),
            "errorCode": failure.map { .int(Int64($0.code)) } ?? .null,
            "errorMessage": failure.map { .string($0.message) } ?? .null,
        ]
    }

    /// The Veo callback, shaped like Tests/Fixtures/kie/callback-veo-*.json: on failure the body `code`
    /// is the error code (400/422/500/501) and `data` only names the task.
    static func veoCallback(_ task: SimulatedTask) -> JSONValue {
        if task.state == .success {
            return [
                "code": 200,
                "msg": "Veo3 video generated successfully.",
                "data": [
                    "taskId": .string(task.id),
                    "info": [
                        "resultUrls": .array(task.resultUrls.map { .string($0) }),
                        "originUrls": .array(task.originUrls.map { .string($0) }),
                        "resolution": .string(task.resolution),
                    ],
                    "fallbackFlag": false,
                ],
            ]
        }
        let failure = task.plan.failure ?? TaskFailure(code: 500, message: "Internal Error", veoSuccessFlag: 2)
        return [
            "code": .int(Int64(failure.code)),
            "msg": .string(failure.message),
            "data": ["taskId": .string(task.id), "fallbackFlag": false],
        ]
    }

    /// `GET /api/v1/veo/get-1080p-video?taskId=&index=`: `{"resultUrl": ...}` once the task has
    /// succeeded; code 400 while it runs (Kie: "try again later"), 422 when it failed or is unknown.
    func veo1080pVideo(_ request: HTTPRequest, now: EpochMillis) -> HTTPResponse {
        if let index = request.queryItem("index"), Int(index).map({ $0 >= 0 }) != true {
            return invalid(422, "index is invalid")
        }
        switch statusTask(request, endpoint: TaskFamily.veo.status, now: now) {
        case .answer(let refusal): return refusal
        case .found(let task):
            switch task.state {
            case .success: return Self.success(["resultUrl": .string(task.hdResultURL)])
            case .fail: return invalid(422, "The video generation failed: no 1080P video")
            default: return invalid(400, "The 1080P video is being processed, please try again later")
            }
        }
    }
}
