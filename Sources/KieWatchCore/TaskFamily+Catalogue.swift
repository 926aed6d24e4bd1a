/// The families Kie documents (docs.kie.ai: market, veo3-api, runway-api, luma-api, suno-api,
/// 4o-image-api, flux-kontext-api, mj-api). Where Kie documents no spelling (Veo 4K's status
/// record, Suno's `text`/`first` messages), the reading is tolerant and the writing follows the
/// closest documented sibling; `Tests/Fixtures/kie/README.md` says which samples are assumed.
extension TaskFamily {

    /// Market state strings (`data.state`), any letter case, with the spellings seen in clients.
    static let marketStates: [(String, StateMeaning)] = [
        ("waiting", .state(.waiting)), ("queuing", .state(.queuing)), ("queueing", .state(.queuing)),
        ("queued", .state(.queuing)), ("generating", .state(.generating)), ("processing", .state(.generating)),
        ("running", .state(.generating)), ("success", .state(.success)), ("succeeded", .state(.success)),
        ("completed", .state(.success)), ("fail", .state(.fail)), ("failed", .state(.fail)),
        ("failure", .state(.fail)), ("error", .state(.fail)),
    ]

    /// `successFlag` 0 generating, 1 success, 2 failed, 3 created but generation failed.
    static let successFlags: [(String, StateMeaning)] = [
        ("0", .state(.generating)), ("1", .state(.success)), ("2", .state(.fail)), ("3", .state(.fail)),
    ]

    /// Task ids in callbacks, in every spelling Kie uses (Runway and Suno: `task_id`).
    public static let callbackTaskIDs: [FieldPath] = ["taskId", "task_id"]

    /// Result URLs in a callback's `data` when the family's own paths find none: the shapes
    /// Kie's callbacks have used (`outputs`, direct `resultUrls` / `url` / `videoUrl` fields).
    public static let fallbackCallbackResults: [FieldPath] = [
        "info.resultUrls", "info.result_urls", "resultUrls", "result_urls", "outputs", "response.resultUrls",
        "resultUrl", "url", "videoUrl", "video_url", "result_video_url", "imageUrl", "image_url", "audioUrl", "audio_url",
    ]

    static let veoStatus = Endpoint("/api/v1/veo/record-info", label: "veo_record_info")

    static func veoShape(success: String) -> WireShape {
        WireShape(
            statusResult: "response.resultUrls", callbackResult: "info.resultUrls", successMessage: success,
            failureMessage: "Veo generation failed.", failureCode: 501, failureCodes: [400, 408, 422, 451, 500, 501],
            callbackCopies: [("response.originUrls", "info.originUrls"), ("response.resolution", "info.resolution")],
            callbackConstants: [("fallbackFlag", false)])
    }

    public static let market = TaskFamily(
        rawValue: "market", title: "Market (Kling, Sora 2, Grok, WAN, ...)",
        creates: [Endpoint("/api/v1/jobs/createTask", label: "create_task")],
        status: Endpoint("/api/v1/jobs/recordInfo", label: "record_info"), webhookPath: "/webhooks/kie",
        model: ModelRule(), states: [StateField("state", marketStates)],
        statusResults: ["resultJson.resultUrls"], callbackResults: ["resultJson.resultUrls"], statusModel: ["model"],
        callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            statusResult: "resultJson$.resultUrls", callbackResult: "resultJson$.resultUrls", failCode: "failCode",
            failMessage: "failMsg", failCodeIsNumber: false, credits: "creditsConsumed", progress: .percent,
            successMessage: "Playground task completed successfully.", failureMessage: "Playground task failed.",
            failureCode: 501, failureCodes: [501], callbackIsStatusRecord: true))

    public static let veo = TaskFamily(
        rawValue: "veo", title: "Veo 3.1", creates: [Endpoint("/api/v1/veo/generate", label: "veo_generate")],
        status: veoStatus, webhookPath: "/webhooks/veo", model: ModelRule(fallback: "veo3_fast"),
        states: [StateField("successFlag", successFlags)], statusResults: ["response.resultUrls"],
        callbackResults: ["info.resultUrls", "response.resultUrls"], statusModel: ["paramJson$.model"],
        callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: veoShape(success: "Veo3.1 video generated successfully."))

    /// `POST /api/v1/veo/extend` makes a new task (new id) polled like any Veo task.
    public static let veoExtend = TaskFamily(
        rawValue: "veo_extend", title: "Veo 3.1 extend", creates: [Endpoint("/api/v1/veo/extend", label: "veo_extend")],
        status: veoStatus, webhookPath: "/webhooks/veo-extend",
        model: ModelRule(prefix: "veo-extend/", fallback: "veo-extend/fast"),
        states: [StateField("successFlag", successFlags)], statusResults: ["response.resultUrls"],
        callbackResults: ["info.resultUrls", "response.resultUrls"], statusModel: [], callbacks: .single,
        parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: veoShape(success: "Veo3.1 video extended successfully."))

    /// `POST /api/v1/veo/get-4k-video` answers the parent's task id: the request is tracked as
    /// `<parent>#4k[index]`. While it runs the status call answers 422 "4k is processing". Its
    /// callbacks carry `info.resultUrls` and `info.imageUrls` (and `creditsConsumed`), no
    /// `fallbackFlag`; a failure is code 500 with `data` holding only the task id, or null.
    public static let veo4K = TaskFamily(
        rawValue: "veo_4k", title: "Veo 3.1 4K", creates: [Endpoint("/api/v1/veo/get-4k-video", label: "veo_4k")],
        status: Endpoint("/api/v1/veo/get-4k-video", label: "veo_4k", method: "POST"), webhookPath: "/webhooks/veo-4k",
        model: ModelRule(key: nil, fallback: "veo3-4k"), states: [], statusResults: ["resultUrls"],
        callbackResults: ["info.resultUrls"], statusModel: [], callbacks: .single, parentTaskSuffix: "4k",
        minimumPollIntervalMillis: 30_000, runningAnswers: [RunningAnswer(code: 422, messageContains: "processing")],
        failedAnswers: [RunningAnswer(code: 500, messageContains: "unavailable")], resultsMeanSuccess: true,
        shape: WireShape(
            statusResult: "resultUrls", callbackResult: "info.resultUrls", credits: "creditsConsumed",
            successMessage: "4K Video generated successfully.",
            failureMessage: "The 4K version of this video is unavailable. Please try a different video.",
            failureCode: 500, failureCodes: [500]))

    /// Runway's record (`record-detail`) has a `generateTime` date string and an integer
    /// `failCode`; its callbacks spell the id `task_id` and the result `video_url`.
    public static let runway = TaskFamily(
        rawValue: "runway", title: "Runway",
        creates: [
            Endpoint("/api/v1/runway/generate", label: "runway_generate"),
            Endpoint("/api/v1/runway/extend", label: "runway_extend"),
        ],
        status: Endpoint("/api/v1/runway/record-detail", label: "runway_record_detail"), webhookPath: "/webhooks/runway",
        model: ModelRule(prefix: "runway/", fallback: "runway"),
        states: [
            StateField(
                "state",
                [
                    ("wait", .state(.waiting)), ("waiting", .state(.waiting)), ("queueing", .state(.queuing)),
                    ("queuing", .state(.queuing)), ("generating", .state(.generating)), ("success", .state(.success)),
                    ("fail", .state(.fail)), ("failed", .state(.fail)),
                ])
        ],
        statusResults: ["videoInfo.videoUrl"], callbackResults: ["video_url", "videoInfo.videoUrl"], statusModel: [],
        callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            callbackTaskID: "task_id", statusResult: "videoInfo.videoUrl", callbackResult: "video_url",
            singleResult: true, failCode: "failCode", failMessage: "failMsg", createTime: "generateTime",
            completeTime: nil, times: .dateTime, successMessage: "All generated successfully.",
            failureMessage: "Runway generation failed.", failureCodes: [400, 500]))

    /// Aleph's `successFlag` 0 means running *or* failed: an `errorCode` other than 0 or an
    /// `errorMessage` says failed. Its callbacks name the task beside `data` (top-level
    /// `taskId`), put the result at `data.result_video_url`, and fail with `data: null`.
    public static let aleph = TaskFamily(
        rawValue: "aleph", title: "Runway Aleph", creates: [Endpoint("/api/v1/aleph/generate", label: "aleph_generate")],
        status: Endpoint("/api/v1/aleph/record-info", label: "aleph_record_info"), webhookPath: "/webhooks/aleph",
        model: ModelRule(key: nil, fallback: "runway-aleph"),
        states: [StateField("successFlag", [("0", .runningUnlessError), ("1", .state(.success))])],
        statusResults: ["response.resultVideoUrl"],
        callbackResults: ["result_video_url", "info.resultVideoUrl", "response.resultVideoUrl"],
        statusModel: [], callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            statusResult: "response.resultVideoUrl", callbackResult: "result_video_url", singleResult: true,
            times: .iso8601, successMessage: "success", failureMessage: "Aleph generation failed.", failureCode: 400,
            failureCodes: [400, 500], callbackTaskIDOutsideData: true, failureDataIsNull: true))

    /// Luma's flag 4: generated, but Kie's callback failed; the webhook is missed at once. Its
    /// callbacks carry `data.resultUrls` (and the request as `promptJson`); a failure is code 500.
    public static let luma = TaskFamily(
        rawValue: "luma", title: "Luma modify", creates: [Endpoint("/api/v1/modify/generate", label: "luma_modify")],
        status: Endpoint("/api/v1/modify/record-info", label: "luma_record_info"), webhookPath: "/webhooks/luma",
        model: ModelRule(key: nil, fallback: "luma-modify"),
        states: [
            StateField(
                "successFlag",
                [
                    ("0", .state(.generating)), ("1", .state(.success)), ("2", .state(.fail)), ("3", .state(.fail)),
                    ("4", .successCallbackFailed),
                ])
        ],
        statusResults: ["response.resultUrls"], callbackResults: ["resultUrls", "info.resultUrls", "response.resultUrls"],
        statusModel: [], callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 30_000, runningAnswers: [],
        shape: WireShape(
            statusResult: "response.resultUrls", callbackResult: "resultUrls",
            successMessage: "Modify record generated successfully.", failureMessage: "Luma generation failed.",
            failureCode: 500, failureCodes: [500]))

    /// Suno: up to three callbacks per task (`text`, `first`, `complete`), each relayed; a
    /// failure is one `error` callback with the reason in `data.error`.
    public static let suno = TaskFamily(
        rawValue: "suno", title: "Suno",
        creates: [
            Endpoint("/api/v1/generate", label: "suno_generate"),
            // Music tasks of their own, with the same status call and callbacks (Kie's "Music
            // Generation" group): extend a track, upload and extend, upload and cover.
            Endpoint("/api/v1/generate/extend", label: "suno_extend"),
            Endpoint("/api/v1/generate/upload-extend", label: "suno_upload_extend"),
            Endpoint("/api/v1/generate/upload-cover", label: "suno_upload_cover"),
        ],
        status: Endpoint("/api/v1/generate/record-info", label: "suno_record_info"), webhookPath: "/webhooks/suno",
        model: ModelRule(prefix: "suno/", fallback: "suno"),
        states: [
            StateField(
                "status",
                [
                    ("PENDING", .state(.queuing)), ("TEXT_SUCCESS", .state(.generating)),
                    ("FIRST_SUCCESS", .state(.generating)), ("SUCCESS", .state(.success)),
                    ("CREATE_TASK_FAILED", .state(.fail)), ("GENERATE_AUDIO_FAILED", .state(.fail)),
                    ("CALLBACK_EXCEPTION", .state(.fail)), ("SENSITIVE_WORD_ERROR", .state(.fail)),
                ])
        ],
        statusResults: ["response.sunoData[].audioUrl"], callbackResults: ["data[].audio_url", "data[].audioUrl"],
        statusModel: [], callbacks: .kinds(field: "callbackType", progress: ["text", "first"], final: "complete", failure: "error"),
        parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            callbackTaskID: "task_id", statusResult: "response.sunoData[].audioUrl", callbackResult: "data[].audio_url",
            callbackFailMessage: "error", successMessage: "All generated successfully.",
            failureMessage: "Audio generation failed.", failureCode: 501, failureCodes: [400, 408, 413, 500, 501, 531]))

    /// GPT-4o image: `successFlag` 0-2 and a `status` string; `progress` a string fraction.
    public static let gpt4oImage = TaskFamily(
        rawValue: "gpt4o_image", title: "GPT-4o image",
        creates: [Endpoint("/api/v1/gpt4o-image/generate", label: "gpt4o_image_generate")],
        status: Endpoint("/api/v1/gpt4o-image/record-info", label: "gpt4o_image_record_info"),
        webhookPath: "/webhooks/gpt4o-image", model: ModelRule(key: nil, fallback: "gpt-4o-image"),
        states: [
            StateField(
                "status",
                [
                    ("GENERATING", .state(.generating)), ("SUCCESS", .state(.success)),
                    ("CREATE_TASK_FAILED", .state(.fail)), ("GENERATE_FAILED", .state(.fail)),
                ]),
            StateField("successFlag", [("0", .state(.generating)), ("1", .state(.success)), ("2", .state(.fail))]),
        ],
        statusResults: ["response.resultUrls"], callbackResults: ["info.result_urls", "info.resultUrls"],
        statusModel: [], callbacks: .single, parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            statusResult: "response.resultUrls", callbackResult: "info.result_urls", progress: .fraction,
            successMessage: "Gpt4o-image generated successfully.", failureMessage: "GPT-4o image generation failed.",
            failureCodes: [400, 451, 500]))

    public static let fluxKontext = TaskFamily(
        rawValue: "flux_kontext", title: "Flux Kontext",
        creates: [Endpoint("/api/v1/flux/kontext/generate", label: "flux_kontext_generate")],
        status: Endpoint("/api/v1/flux/kontext/record-info", label: "flux_kontext_record_info"),
        webhookPath: "/webhooks/flux-kontext", model: ModelRule(fallback: "flux-kontext-pro"),
        states: [StateField("successFlag", successFlags)], statusResults: ["response.resultImageUrl"],
        callbackResults: ["info.resultImageUrl"], statusModel: [], callbacks: .single, parentTaskSuffix: nil,
        minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            statusResult: "response.resultImageUrl", callbackResult: "info.resultImageUrl", singleResult: true,
            times: .iso8601, successMessage: "BFL image generated successfully.",
            failureMessage: "Flux Kontext generation failed.", failureCode: 501, failureCodes: [400, 500, 501]))

    /// Midjourney: status results are objects `{resultUrl}` (`resultInfoJson`); callbacks carry
    /// plain strings in `data.resultUrls`; a failure is code 500.
    public static let midjourney = TaskFamily(
        rawValue: "midjourney", title: "Midjourney", creates: [Endpoint("/api/v1/mj/generate", label: "mj_generate")],
        status: Endpoint("/api/v1/mj/record-info", label: "mj_record_info"), webhookPath: "/webhooks/mj",
        model: ModelRule(key: "taskType", prefix: "midjourney/", fallback: "midjourney"),
        states: [StateField("successFlag", successFlags)], statusResults: ["resultInfoJson.resultUrls[].resultUrl"],
        callbackResults: ["resultUrls", "resultInfoJson.resultUrls[].resultUrl"], statusModel: [], callbacks: .single,
        parentTaskSuffix: nil, minimumPollIntervalMillis: 0, runningAnswers: [],
        shape: WireShape(
            statusResult: "resultInfoJson.resultUrls[].resultUrl", callbackResult: "resultUrls", times: .iso8601,
            successMessage: "success", failureMessage: "Midjourney generation failed.", failureCode: 500,
            failureCodes: [500]))

    /// The table, in the order the README lists it.
    public static let all: [TaskFamily] = [
        market, veo, veoExtend, veo4K, runway, aleph, luma, suno, gpt4oImage, fluxKontext, midjourney,
    ]
}
