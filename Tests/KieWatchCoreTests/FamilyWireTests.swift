import KieWatchCore
import KieWatchSimulator
import KieWatchTestSupport
import Testing

/// Reading helpers over the samples in `Tests/Fixtures/kie`.
private enum Sample {
    static func envelope(_ name: String) throws -> KieEnvelope {
        try #require(KieEnvelope(json: try Fixtures.kieJSON(name)), "\(name)")
    }

    /// A status answer's record, read as the proxy and recovery read it.
    static func status(_ name: String, _ family: TaskFamily, taskId: String? = nil) throws -> TaskReport {
        let answer = KieWire.statusAnswer(try envelope(name), httpStatus: 200, family: family, taskId: taskId)
        return try #require(answer.report, "\(name): \(answer)")
    }

    /// A callback read from its whole body (the task may be named beside `data`).
    static func callback(_ name: String, _ family: TaskFamily, taskId: String? = nil) throws -> TaskReport {
        try KieWire.callback(body: try Fixtures.kieJSON(name), family: family, taskId: taskId)
    }
}

// MARK: - Every family's samples

@Suite struct FamilySampleTests {
    @Test func veoExtend() throws {
        let id = "veo_extend_7f3a21"
        let running = try Sample.status("veo-extend-recordinfo-generating.json", .veoExtend)
        #expect(running.taskId == id && running.state == .generating && running.family == .veoExtend)
        #expect(running.createdAt == 1_755_267_900_000)  // "2025-08-15 14:25:00", read as UTC
        #expect(running.completedAt == nil && running.resultURLs.isEmpty && running.failCode == nil)

        let done = try Sample.status("veo-extend-recordinfo-success.json", .veoExtend)
        #expect(done.state == .success)
        #expect(done.resultURLs == ["https://files.example/veo-extended.mp4"])  // a JSON-encoded array
        #expect(done.completedAt == 1_755_268_245_000)
        #expect(done.failCode == nil && done.failMessage == nil)

        let failed = try Sample.status("veo-extend-recordinfo-failed.json", .veoExtend)
        #expect(failed.state == .fail)  // successFlag 3
        #expect(failed.failCode == "501" && failed.failMessage == "Generation failed, please try again later")
        #expect(failed.completedAt == 1_755_267_970_000)

        let success = try Sample.callback("callback-veo-extend-success.json", .veoExtend)
        #expect(success.taskId == id && success.state == .success && success.callbackKind == nil)
        #expect(success.resultURLs == ["https://files.example/veo-extended.mp4"])
        let failure = try Sample.callback("callback-veo-extend-fail.json", .veoExtend)
        #expect(failure.state == .fail && failure.failCode == "501")
        #expect(failure.failMessage == "Generation failed, please try again later")
    }

    @Test func veo4K() throws {
        let parent = "veo_task_abc"
        // The create answers the parent's id; the request is tracked under its own id.
        let created = try Sample.envelope("veo-4k-create-response.json")
        #expect(KieWire.createdTaskId(created) == parent)
        let request: JSONValue = ["taskId": .string(parent), "index": 0, "callBackUrl": "https://app.example/4k"]
        #expect(KieWire.createRequest(request, family: .veo4K).parentTaskID == parent)
        #expect(TaskFamily.veo4K.trackedTaskID(kieTaskID: parent, create: request) == "veo_task_abc#4k")

        // 422 "4k is processing" is a running task, not an error.
        let processing = try Sample.status("veo-4k-status-processing.json", .veo4K, taskId: parent)
        #expect(processing.taskId == parent && processing.state == .generating)
        let withoutId = KieWire.statusAnswer(
            try Sample.envelope("veo-4k-status-processing.json"), httpStatus: 200, family: .veo4K, taskId: nil)
        #expect(withoutId.report == nil)

        // Kie's status for 4K is the request sent again: its result once done, its failure.
        let done = try Sample.status("veo-4k-status-success.json", .veo4K)
        #expect(done.state == .success && done.resultURLs == ["https://files.example/veo-4k.mp4"])
        let accepted = try Sample.status("veo-4k-create-response.json", .veo4K)
        #expect(accepted.state == .generating && accepted.resultURLs.isEmpty)
        let failed = try Sample.status("veo-4k-status-failed.json", .veo4K, taskId: parent)
        #expect(failed.state == .fail && failed.failCode == "500")

        let success = try Sample.callback("callback-veo-4k-success.json", .veo4K)
        #expect(success.taskId == parent && success.state == .success)
        #expect(success.resultURLs == ["https://files.example/veo-4k.mp4"])  // not the preview in info.imageUrls
        #expect(success.creditsConsumed == 120)
        let failure = try Sample.callback("callback-veo-4k-fail.json", .veo4K)
        #expect(failure.taskId == parent && failure.state == .fail && failure.failCode == "500")
        #expect(failure.failMessage == "The 4K version of this video is unavailable. Please try a different video.")

        // The body names the parent; the route names the request tracked under it.
        let routed = try Sample.callback("callback-veo-4k-success.json", .veo4K, taskId: "veo_task_abc#4k2")
        #expect(routed.taskId == "veo_task_abc#4k2" && routed.state == .success)
        let otherRoute = try Sample.callback("callback-veo-4k-success.json", .veo4K, taskId: "veo_task_zzz#4k")
        #expect(otherRoute.taskId == parent)  // they disagree: the body's id, for the caller to judge
        #expect(try Sample.callback("callback-veo-success.json", .veo, taskId: "veo_task_abc#4k").taskId == "veo_task_abc")
        // `data: null`: the task is the one the callback's URL names.
        let bare = try Sample.callback("callback-veo-4k-fail-nodata.json", .veo4K, taskId: "veo_task_abc#4k")
        #expect(bare.taskId == "veo_task_abc#4k" && bare.state == .fail && bare.failCode == "500")
        #expect(throws: KieDecodingError.self) { try Sample.callback("callback-veo-4k-fail-nodata.json", .veo4K) }
    }

    @Test func runway() throws {
        let id = "ee603959-debb-48d1-98c4-a6d1c717eba6"
        for (name, state) in [
            ("runway-recorddetail-wait.json", TaskState.waiting), ("runway-recorddetail-queueing.json", .queuing),
            ("runway-recorddetail-generating.json", .generating),
        ] {
            let report = try Sample.status(name, .runway)
            #expect(report.taskId == id && report.state == state, "\(name)")
            #expect(report.createdAt == 1_755_267_900_000, "\(name)")  // generateTime "2025-08-15 14:25:00"
            #expect(report.failCode == nil && report.failMessage == nil, "\(name)")
        }
        let done = try Sample.status("runway-recorddetail-success.json", .runway)
        #expect(done.state == .success && done.resultURLs == ["https://files.example/runway.mp4"])
        let failed = try Sample.status("runway-recorddetail-fail.json", .runway)
        #expect(failed.state == .fail)
        #expect(failed.failCode == "400")  // an integer failCode
        #expect(failed.failMessage == "Inappropriate content detected. Please replace the image or video.")

        let success = try Sample.callback("callback-runway-success.json", .runway)
        #expect(success.taskId == id && success.state == .success)  // data.task_id
        #expect(success.resultURLs == ["https://files.example/runway.mp4"])  // video_url, not the cover
        let failure = try Sample.callback("callback-runway-fail.json", .runway)
        #expect(failure.taskId == id && failure.state == .fail && failure.failCode == "400")
        #expect(failure.failMessage == "Your prompt was caught by our AI moderator. Please adjust it and try again!")
        #expect(failure.resultURLs.isEmpty)
    }

    @Test func aleph() throws {
        let id = "aleph_5d2c8e0b"
        let running = try Sample.status("aleph-recordinfo-generating.json", .aleph)
        #expect(running.taskId == id && running.state == .generating)  // flag 0 without an error
        #expect(running.createdAt == 1_755_267_900_000)  // ISO "2025-08-15T14:25:00Z"
        let done = try Sample.status("aleph-recordinfo-success.json", .aleph)
        #expect(done.state == .success && done.resultURLs == ["https://files.example/aleph.mp4"])
        #expect(done.failCode == nil)  // errorCode 0 is "no error"
        #expect(done.completedAt == 1_755_268_245_000)
        let failed = try Sample.status("aleph-recordinfo-failed.json", .aleph)
        #expect(failed.state == .fail)  // flag 0 with an error
        #expect(failed.failCode == "400" && failed.failMessage == "Your prompt was caught by our AI moderator.")

        // Aleph's callbacks name the task beside `data`.
        let success = try Sample.callback("callback-aleph-success.json", .aleph)
        #expect(success.taskId == id && success.state == .success)
        #expect(success.resultURLs == ["https://files.example/aleph.mp4"])
        let failure = try Sample.callback("callback-aleph-fail.json", .aleph)
        #expect(failure.taskId == id && failure.state == .fail && failure.failCode == "400")
        // Read from the envelope alone, the route names the task.
        let envelope = try Sample.envelope("callback-aleph-fail.json")
        #expect(try KieWire.callback(envelope, family: .aleph, taskId: id).taskId == id)
        #expect(throws: KieDecodingError.self) { try KieWire.callback(envelope, family: .aleph) }
    }

    @Test(arguments: [
        (JSONValue.int(0), JSONValue.string(""), TaskState.generating), (nil, nil, .generating), (.int(0), nil, .generating),
        ("0", "", .generating), (.int(500), nil, .fail), (nil, "failed", .fail), ("E_POLICY", "", .fail),
    ])
    func alephFlagZeroIsRunningUnlessItCarriesAnError(errorCode: JSONValue, errorMessage: JSONValue, state: TaskState)
        throws
    {
        let data: JSONValue = ["taskId": "a", "successFlag": 0, "errorCode": errorCode, "errorMessage": errorMessage]
        #expect(try KieWire.record(data, family: .aleph).state == state)
    }

    @Test func luma() throws {
        let id = "774d9a7dd608a0e49293903095e45a4c"
        let running = try Sample.status("luma-recordinfo-generating.json", .luma)
        #expect(running.taskId == id && running.state == .generating && !running.callbackFailed)
        #expect(running.createdAt == 1_755_267_900_000)
        let done = try Sample.status("luma-recordinfo-success.json", .luma)
        #expect(done.state == .success && !done.callbackFailed && done.resultURLs == ["https://files.example/luma.mp4"])
        let failed = try Sample.status("luma-recordinfo-failed.json", .luma)
        #expect(failed.state == .fail && failed.failCode == "500" && failed.failMessage == "Generation failed")
        // Flag 4: generated, but Kie's callback did not get through.
        let flagged = try Sample.status("luma-recordinfo-callbackfailed.json", .luma)
        #expect(flagged.state == .success && flagged.callbackFailed)
        #expect(flagged.resultURLs == ["https://files.example/luma.mp4"])

        let success = try Sample.callback("callback-luma-success.json", .luma)
        #expect(success.taskId == id && success.state == .success && !success.callbackFailed)
        #expect(success.resultURLs == ["https://files.example/luma.mp4"])
        let failure = try Sample.callback("callback-luma-fail.json", .luma)
        #expect(failure.state == .fail && failure.failCode == "500" && failure.failMessage == "Modify record generation failed.")
    }

    @Test func suno() throws {
        let id = "5c79a3e1f2be8e"
        let pending = try Sample.status("suno-recordinfo-pending.json", .suno)
        #expect(pending.taskId == id && pending.state == .queuing && pending.callbackKind == nil)
        let text = try Sample.status("suno-recordinfo-text-success.json", .suno)
        #expect(text.state == .generating && text.resultURLs.isEmpty)
        let first = try Sample.status("suno-recordinfo-first-success.json", .suno)
        #expect(first.state == .generating && first.resultURLs == ["https://files.example/suno-1.mp3"])
        let done = try Sample.status("suno-recordinfo-success.json", .suno)
        #expect(done.state == .success)
        #expect(done.resultURLs == ["https://files.example/suno-1.mp3", "https://files.example/suno-2.mp3"])
        let failed = try Sample.status("suno-recordinfo-failed.json", .suno)
        #expect(failed.state == .fail && failed.failCode == "400" && failed.failMessage == "The prompt contains sensitive words.")

        // Three callbacks, each its own kind; the first two while the task runs.
        let textCallback = try Sample.callback("callback-suno-text.json", .suno)
        #expect(textCallback.taskId == id && textCallback.state == .generating && textCallback.callbackKind == "text")
        #expect(textCallback.resultURLs.isEmpty)
        let firstCallback = try Sample.callback("callback-suno-first.json", .suno)
        #expect(firstCallback.state == .generating && firstCallback.callbackKind == "first")
        #expect(firstCallback.resultURLs == ["https://files.example/suno-1.mp3"])
        let complete = try Sample.callback("callback-suno-complete.json", .suno)
        #expect(complete.state == .success && complete.callbackKind == "complete")
        #expect(complete.resultURLs == ["https://files.example/suno-1.mp3", "https://files.example/suno-2.mp3"])
        let error = try Sample.callback("callback-suno-error.json", .suno)
        #expect(error.state == .fail && error.callbackKind == "error" && error.failCode == "501")
        #expect(error.failMessage == "Generation failed due to technical issues")  // data.error before msg
    }

    @Test(arguments: [
        ("PENDING", TaskState.queuing), ("TEXT_SUCCESS", .generating), ("FIRST_SUCCESS", .generating), ("SUCCESS", .success),
        ("CREATE_TASK_FAILED", .fail), ("GENERATE_AUDIO_FAILED", .fail), ("CALLBACK_EXCEPTION", .fail),
        ("SENSITIVE_WORD_ERROR", .fail), ("text_success", .generating),
    ])
    func sunoStatusStrings(status: String, state: TaskState) throws {
        #expect(try KieWire.record(["taskId": "s", "status": .string(status)], family: .suno).state == state)
    }

    @Test func gpt4oImage() throws {
        let id = "d231a99a9a9f1dd8f895be1b97be8065"
        let running = try Sample.status("gpt4o-image-recordinfo-generating.json", .gpt4oImage)
        #expect(running.taskId == id && running.state == .generating)
        #expect(running.progress == 48)  // "0.48"
        #expect(running.createdAt == 1_755_572_609_000)
        let done = try Sample.status("gpt4o-image-recordinfo-success.json", .gpt4oImage)
        #expect(done.state == .success && done.progress == 100 && done.resultURLs == ["https://files.example/4o-1.png"])
        #expect(done.completedAt == 1_755_572_670_000)
        let failed = try Sample.status("gpt4o-image-recordinfo-failed.json", .gpt4oImage)
        #expect(failed.state == .fail && failed.failCode == "400" && failed.progress == 12)

        let success = try Sample.callback("callback-gpt4o-image-success.json", .gpt4oImage)
        #expect(success.taskId == id && success.state == .success && success.resultURLs == ["https://files.example/4o-1.png"])
        let failure = try Sample.callback("callback-gpt4o-image-fail.json", .gpt4oImage)
        #expect(failure.state == .fail && failure.failCode == "451")
        #expect(failure.failMessage == "Failed to download the image from filesUrl.")
    }

    @Test func fluxKontext() throws {
        let id = "fluxkontext_9b0e1d"
        let running = try Sample.status("flux-kontext-recordinfo-generating.json", .fluxKontext)
        #expect(running.taskId == id && running.state == .generating && running.createdAt == 1_755_267_900_000)
        let done = try Sample.status("flux-kontext-recordinfo-success.json", .fluxKontext)
        #expect(done.state == .success && done.resultURLs == ["https://files.example/flux.jpg"])  // one string
        #expect(done.completedAt == 1_755_268_245_000)
        let failed = try Sample.status("flux-kontext-recordinfo-failed.json", .fluxKontext)
        #expect(failed.state == .fail && failed.failCode == "501" && failed.failMessage == "Image generation task failed")

        let success = try Sample.callback("callback-flux-kontext-success.json", .fluxKontext)
        #expect(success.taskId == id && success.state == .success && success.resultURLs == ["https://files.example/flux.jpg"])
        let failure = try Sample.callback("callback-flux-kontext-fail.json", .fluxKontext)
        #expect(failure.state == .fail && failure.failCode == "400")
    }

    @Test func midjourney() throws {
        let id = "4edb3c5a1b2c75e3f0aa5cc"
        let urls = (0..<4).map { "https://files.example/mj_0_\($0).jpeg" }
        let running = try Sample.status("mj-recordinfo-generating.json", .midjourney)
        #expect(running.taskId == id && running.state == .generating && running.createdAt == 1_755_267_900_000)
        let done = try Sample.status("mj-recordinfo-success.json", .midjourney)
        #expect(done.state == .success && done.resultURLs == urls)  // objects {resultUrl}
        let failed = try Sample.status("mj-recordinfo-failed.json", .midjourney)
        #expect(failed.state == .fail && failed.failCode == "500" && failed.failMessage == "Image generation failed")

        let success = try Sample.callback("callback-mj-success.json", .midjourney)
        #expect(success.taskId == id && success.state == .success && success.resultURLs == urls)  // plain strings
        let failure = try Sample.callback("callback-mj-fail.json", .midjourney)
        #expect(failure.state == .fail && failure.failCode == "500" && failure.resultURLs.isEmpty)
    }

    /// Every callback sample of every family names its kind only where the family has kinds,
    /// and says "callback failed" only from a status answer.
    @Test func callbackKindAndFlagOnlyWhereTheFamilyHasThem() throws {
        for name in try Fixtures.allKieNames() where name.hasPrefix("callback-") {
            guard let family = TaskFamily.all.last(where: { name.hasPrefix("callback-" + $0.samplePrefix + "-") }) else {
                Issue.record("\(name): no family")
                continue
            }
            let report = try Sample.callback(name, family, taskId: "route-id")
            #expect(!report.callbackFailed, "\(name)")
            if family.callbacks.kinds.isEmpty {
                #expect(report.callbackKind == nil, "\(name)")
            } else {
                #expect(report.callbackKind.map { family.callbacks.kinds.contains($0) || $0 == "error" } == true, "\(name)")
            }
        }
    }
}

extension TaskFamily {
    /// How the samples of a family are named (`callback-<prefix>-success.json`).
    fileprivate var samplePrefix: String {
        switch rawValue {
        case "veo_extend": "veo-extend"
        case "veo_4k": "veo-4k"
        case "gpt4o_image": "gpt4o-image"
        case "flux_kontext": "flux-kontext"
        case "midjourney": "mj"
        default: rawValue
        }
    }
}

// MARK: - Spellings

@Suite struct FamilySpellingTests {
    @Test func taskIdSpelledEitherWayWhereverItSits() throws {
        for data: JSONValue in [["taskId": "t1", "successFlag": 1], ["task_id": "t1", "successFlag": 1]] {
            #expect(try KieWire.record(data, family: .veo).taskId == "t1")
            #expect(try KieWire.callback(KieEnvelope(code: 200, message: "ok", data: data), family: .veo).taskId == "t1")
        }
        // Beside `data`, either spelling, read from the whole body.
        for key in ["taskId", "task_id"] {
            let body = FieldPath(key).writing("t2", into: ["code": 200, "msg": "ok", "data": ["resultUrls": ["u"]]])
            #expect(try KieWire.callback(body: body, family: .midjourney).taskId == "t2")
        }
        // What `data` says comes first; the route last.
        let both: JSONValue = ["code": 200, "msg": "ok", "data": ["taskId": "inner"], "taskId": "outer"]
        #expect(try KieWire.callback(body: both, family: .veo, taskId: "route").taskId == "inner")
        let create = try #require(KieEnvelope(json: try Fixtures.kieJSON("create-response-task_id.json")))
        #expect(KieWire.createdTaskId(create) == "task_underscored_1")
        #expect(throws: KieDecodingError.self) { try KieWire.callback(body: "not an object", family: .veo) }
    }

    /// A failed task has no result, whatever a fallback field holds (Runway's cover image).
    @Test func aFailureCallbackHasNoResults() throws {
        let data: JSONValue = ["task_id": "r", "video_url": "", "image_url": "https://files.example/cover.png"]
        let failed = try KieWire.callback(KieEnvelope(code: 400, message: "flagged", data: data), family: .runway)
        #expect(failed.state == .fail && failed.resultURLs.isEmpty)
    }

    @Test func statesInAnyLetterCase() throws {
        #expect(try KieWire.record(["taskId": "t", "state": "SUCCESS"], family: .market).state == .success)
        #expect(try KieWire.record(["taskId": "t", "state": "Queueing"], family: .runway).state == .queuing)
        #expect(try KieWire.record(["taskId": "t", "status": "generating"], family: .gpt4oImage).state == .generating)
        #expect(try KieWire.record(["taskId": "t", "successFlag": "4"], family: .luma).callbackFailed)
        let kind = try KieWire.callback(
            KieEnvelope(code: 200, message: "ok", data: ["task_id": "s", "callbackType": "FIRST"]), family: .suno)
        #expect(kind.callbackKind == "first" && kind.state == .generating)
    }

    /// A spelling the table does not know is an error: the agent records the body as
    /// `unparsed` and relays it as it came, rather than guessing.
    static let unknownSpellings: [(TaskFamily, JSONValue)] = [
        (.market, ["taskId": "t", "state": "exploded"]),
        (.veo, ["taskId": "t", "successFlag": 7]), (.luma, ["taskId": "t", "successFlag": 5]),
        (.runway, ["task_id": "t", "state": "paused"]), (.gpt4oImage, ["taskId": "t", "status": "WEIRD"]),
        (.aleph, ["taskId": "t", "successFlag": 2]), (.suno, ["task_id": "t", "callbackType": "partial"]),
        (.suno, ["task_id": "t", "callbackType": 5]), (.suno, ["task_id": "t", "callbackType": ["text"]]),
        (.suno, ["task_id": "t", "callbackType": "text", "status": "HALF_DONE"]),
        (.market, ["taskId": "t"]),  // a market callback always carries its state
    ]

    @Test(arguments: unknownSpellings)
    func unknownSpellingsInACallbackThrow(family: TaskFamily, data: JSONValue) {
        #expect(throws: KieDecodingError.self) {
            try KieWire.callback(KieEnvelope(code: 200, message: "ok", data: data), family: family)
        }
    }

    @Test func unknownStateInAStatusAnswerIsAnError() {
        let answer = KieWire.statusAnswer(
            KieEnvelope(code: 200, message: "success", data: ["task_id": "t", "state": "paused"]), httpStatus: 200,
            family: .runway, taskId: "t")
        guard case .error(let message) = answer else {
            Issue.record("read as \(answer)")
            return
        }
        #expect(message.contains("unknown state 'paused'"))
    }

    @Test func callbackWithDataThatIsNotAnObjectThrows() {
        for data: JSONValue in ["text", 5, ["a"]] {
            #expect(throws: KieDecodingError.self) {
                try KieWire.callback(KieEnvelope(code: 200, message: "ok", data: data), family: .veo, taskId: "t")
            }
        }
    }

    @Test(arguments: [
        (JSONValue.string("0.48"), 48), ("1.00", 100), ("0", 0), (45, 45), (.double(0.25), 25), ("45", 45), (100, 100),
    ])
    func progressAsPercentOrFraction(value: JSONValue, percent: Int) throws {
        let report = try KieWire.record(["taskId": "t", "status": "GENERATING", "progress": value], family: .gpt4oImage)
        #expect(report.progress == percent)
    }

    @Test func isoTimesWithFractionsAndZones() {
        let base: Int64 = 1_755_268_245_000  // 2025-08-15T14:30:45Z
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45Z") == base)
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45.250Z") == base + 250)
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45.5Z") == base + 500)
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45.123456789Z") == base + 123)
        #expect(KieWire.parseDateTime("2025-08-15T22:30:45+08:00") == base)
        #expect(KieWire.parseDateTime("2025-08-15T09:00:45-0530") == base)
        #expect(KieWire.parseDateTime("2025-08-15 14:30:45") == base)  // no zone: UTC
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45.000+00:00") == base)
        // Past the window once the zone is applied, and zones that are not zones.
        #expect(KieWire.parseDateTime("1970-01-01T00:30:00+01:00") == nil)
        #expect(KieWire.parseDateTime("9999-12-31T23:30:00-01:00") == nil)
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45+99:00") == nil)
        #expect(KieWire.parseDateTime("2025-08-15T14:30:45+8") == base)  // not a zone: ignored
        #expect(KieWire.parseDateTime("2025-08-15T14:30") == nil)
    }

    @Test func timesAreWrittenInEachFamilysFormat() {
        let millis: Int64 = 1_755_268_245_250
        #expect(TaskFamily.market.shape.time(millis) == .int(millis))
        #expect(TaskFamily.runway.shape.time(millis) == "2025-08-15 14:30:45")
        #expect(TaskFamily.aleph.shape.time(millis) == "2025-08-15T14:30:45.250Z")
        #expect(TaskFamily.aleph.shape.time(1_755_268_245_007) == "2025-08-15T14:30:45.007Z")
        for family in TaskFamily.all {
            let written = family.shape.time(millis)
            let expected = family.shape.times == .dateTime ? millis - millis % 1000 : millis
            #expect(KieWire.timestamp(written) == expected, "\(family)")
        }
    }
}

// MARK: - Endpoints and the tracked id

@Suite struct FamilyEndpointTests {
    @Test(arguments: TaskFamily.all)
    func everyCreateAndStatusPathHasItsLabelAndFamily(family: TaskFamily) {
        for create in family.creates {
            let endpoint = KieEndpoint(path: create.path)
            #expect(endpoint.rawValue == create.label)
            #expect(endpoint.family == family && endpoint.createsTask && !endpoint.reportsStatus)
            #expect(KieEndpoint(path: create.path + "?x=1") == endpoint)
            #expect(KieEndpoint(rawValue: create.label) == endpoint)
            #expect(TaskFamily.role(ofPath: create.path[...]) == .create(family, create))
        }
        // Veo 4K's status is its own request sent again (POST): that path is its create.
        guard family.status.method == "GET" else {
            #expect(family.creates.contains(family.status) || family.creates.contains { $0.path == family.status.path })
            return
        }
        let status = KieEndpoint(path: family.status.path + "?" + family.status.taskIdParameter + "=abc")
        #expect(status.rawValue == family.status.label && status.reportsStatus && !status.createsTask)
        #expect(KieEndpoint(rawValue: family.status.label) == status)
        // Families sharing a status endpoint (Veo, extend, 4K) read its answers alike.
        let reader = status.family
        #expect(reader?.status == family.status)
        #expect(reader.map { $0 == family || $0.states.map(\.path) == family.states.map(\.path) } == true)
        guard case .status(let statusFamily, let endpoint)? = TaskFamily.role(ofPath: family.status.path[...]) else {
            Issue.record("\(family): no status role")
            return
        }
        #expect(endpoint == family.status && statusFamily == reader)
    }

    @Test func labelsDashboardsUseStay() {
        #expect(KieEndpoint.createTask.rawValue == "create_task" && KieEndpoint.createTask.family == .market)
        #expect(KieEndpoint.recordInfo.rawValue == "record_info")
        #expect(KieEndpoint.veoGenerate.rawValue == "veo_generate" && KieEndpoint.veoGenerate.family == .veo)
        #expect(KieEndpoint.veoRecordInfo.rawValue == "veo_record_info")
        #expect(KieEndpoint(path: "/api/v1/veo/record-info?taskId=x").family == .veo)
    }

    @Test func pathsOutsideTheTableHaveNoRole() {
        for path in ["/api/v1/generate/lyrics", "/api/v1/veo/get-1080p-video", "/api/v1/jobs/createTask/", "/API/V1/JOBS/CREATETASK",
                     "/api/v1/jobs/recordInfo?taskId=x", "", "/"] {
            #expect(TaskFamily.role(ofPath: path[...]) == nil, "\(path)")
        }
        #expect(KieEndpoint(path: "/api/v1/generate/lyrics") == .other)
        #expect(TaskFamily.role(ofPath: "/api/v1/generate/extend") == .create(.suno, TaskFamily.suno.creates[1]))
        #expect(TaskFamily.role(ofPath: "/api/v1/generate") == .create(.suno, TaskFamily.suno.creates[0]))
        #expect(TaskFamily.role(ofPath: "/api/v1/runway/extend") == .create(.runway, TaskFamily.runway.creates[1]))
    }

    @Test func endpointLabelsAreUniqueAndBounded() {
        let labels = TaskFamily.endpointLabels
        #expect(Set(labels).count == labels.count)
        let tableLabels = Set(TaskFamily.all.flatMap { $0.creates.map(\.label) + [$0.status.label] })
        #expect(Set(labels) == tableLabels)
        #expect(labels.count <= 2 * TaskFamily.all.count + 4)
        for label in labels {
            #expect(!label.isEmpty && label.utf8.count <= 32, "\(label)")
            #expect(label.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }, "\(label)")
        }
        let all = KieEndpoint.allCases.map(\.rawValue)
        #expect(all == labels + ["credit", "upload", "llm", "other"])
        #expect(Set(all).count == all.count)
        // Every path belongs to one family's create or to one shared status endpoint.
        let creates = TaskFamily.all.flatMap { $0.creates.map(\.path) }
        #expect(Set(creates).count == creates.count)
        #expect(Set(creates).isDisjoint(with: TaskFamily.all.filter { $0.status.method == "GET" }.map(\.status.path)))
        #expect(Set(TaskFamily.all.map(\.rawValue)).count == TaskFamily.all.count)
        #expect(Set(TaskFamily.all.map(\.webhookPath)).count == TaskFamily.all.count)
        for family in TaskFamily.all { #expect(TaskFamily.named(family.rawValue) == family) }
        #expect(TaskFamily.named("nope") == nil)
    }

    @Test func veo4KTrackedIdRoundTrip() {
        let family = TaskFamily.veo4K
        let cases: [(JSONValue?, String, Int)] = [
            (["taskId": "p", "index": 0], "p#4k", 0), (["taskId": "p"], "p#4k", 0), (["taskId": "p", "index": 2], "p#4k2", 2),
            (["taskId": "p", "index": "3"], "p#4k3", 3), (["taskId": "p", "index": -1], "p#4k", 0),
            (["taskId": "p", "index": 1_000_000_000], "p#4k", 0), (["taskId": "p", "index": "x"], "p#4k", 0), (nil, "p#4k", 0),
        ]
        for (create, tracked, index) in cases {
            #expect(family.trackedTaskID(kieTaskID: "p", create: create) == tracked, "\(String(describing: create))")
            #expect(family.kieTaskID(tracked: tracked) == "p")
            #expect(family.requestIndex(tracked: tracked) == index)
        }
        // Two requests for two indexes of one parent are two tasks, neither of them the parent.
        let a = family.trackedTaskID(kieTaskID: "p", create: ["index": 1])
        let b = family.trackedTaskID(kieTaskID: "p", create: ["index": 2])
        #expect(a != b && a != "p" && b != "p")
        // A `#` in Kie's own id survives the round trip, and is not taken for a suffix.
        #expect(family.kieTaskID(tracked: family.trackedTaskID(kieTaskID: "a#b", create: nil)) == "a#b")
        #expect(family.kieTaskID(tracked: "a#b") == "a#b")
        #expect(family.kieTaskID(tracked: "a#4kx") == "a#4kx")
        #expect(family.requestIndex(tracked: "a#b") == nil)
        #expect(family.parentTaskID(inCreate: ["task_id": "q"]) == "q")
        #expect(family.parentTaskID(inCreate: ["taskId": ""]) == nil)
        // Other families track Kie's id as it is.
        for other in TaskFamily.all where other != family {
            #expect(other.trackedTaskID(kieTaskID: "p#4k", create: ["index": 2]) == "p#4k")
            #expect(other.kieTaskID(tracked: "p#4k") == "p#4k")
            #expect(other.parentTaskID(inCreate: ["taskId": "q"]) == nil)
            #expect(other.requestIndex(tracked: "p#4k") == nil)
        }
    }

    @Test func codeHintsFor408And451() {
        #expect(KieCode.lookup(408).meaning == "no result for over 10 minutes: an upstream timeout, not the client's fault")
        let fetch = KieCode.lookup(451)
        #expect(fetch.code == 451 && fetch.meaning.contains("image fetch failed"))
        #expect(fetch.hint != KieCode.lookup(499).hint)
        #expect(KieCode.hint(forLabel: "451") == fetch.hint)
        let codes = KieCode.table.map(\.code)
        #expect(Set(codes).count == codes.count && codes == codes.sorted())
    }
}

// MARK: - Writing reads back

/// Reports the family table's writers can say, drawn from a seed: what the simulator answers
/// and the agent synthesizes must read back as the report it was written from.
enum ReportDraw {
    static let seed: UInt64 = 0x0014_F4A1

    /// States the family's deciding state field spells (its running spellings), and both ends.
    static func states(_ family: TaskFamily) -> [TaskState] {
        // Veo 4K's status says no state: results or none (a failure is the answer's code).
        guard let field = family.states.first else { return [.generating, .success] }
        let running = TaskState.allCases.filter { state in
            !state.isTerminal
                && field.values.contains { $0.meaning == .state(state) || (state == .generating && $0.meaning == .runningUnlessError) }
        }
        return running + [.success, .fail]
    }

    static func text(_ random: inout SeededRandom, _ alphabet: String, _ length: ClosedRange<Int>) -> String {
        let characters = Array(alphabet)
        return String((0..<random.integer(in: length)).map { _ in random.pick(characters) })
    }

    static func time(_ random: inout SeededRandom, _ family: TaskFamily) -> Int64 {
        let millis = Int64(random.integer(in: 1_500_000_000_000...2_000_000_000_000))
        return family.shape.times == .dateTime ? millis - millis % 1000 : millis
    }

    /// A report as a status answer says it.
    static func status(_ family: TaskFamily, _ state: TaskState, _ random: inout SeededRandom) -> TaskReport {
        let shape = family.shape
        var report = TaskReport(
            taskId: text(&random, "abcdef0123456789-_#é", 1...40), family: family, state: state)
        if !family.statusModel.isEmpty, random.chance(0.7) {
            report.model = text(&random, "abcdefghijklmnopqrstuvwxyz0123456789-_./:", 1...30)
        }
        if random.chance(0.8) { report.createdAt = time(&random, family) }
        if state.isTerminal, shape.completeTime != nil, random.chance(0.8) { report.completedAt = time(&random, family) }
        if state == .fail { (report.failCode, report.failMessage) = failure(family, &random) }
        if state == .success { report.resultURLs = urls(family, &random) }
        if shape.credits != nil, random.chance(0.6) { report.creditsConsumed = Double(random.integer(in: 0...400_000)) / 4 }
        if shape.progress != nil, random.chance(0.6) { report.progress = random.integer(in: 0...100) }
        if state == .success, family.states.contains(where: { $0.value(for: .successCallbackFailed) != nil }) {
            report.callbackFailed = random.chance(0.5)
        }
        return report
    }

    static func failure(_ family: TaskFamily, _ random: inout SeededRandom) -> (String?, String?) {
        let codes = family.shape.failureCodes.sorted().map(String.init) + ["E_POLICY", "422"]
        let code = random.chance(0.8) ? random.pick(codes) : nil
        let message = random.chance(0.8) ? text(&random, "abc XYZ.!é\"\\", 1...60) : nil
        return (code, message)
    }

    static func urls(_ family: TaskFamily, _ random: inout SeededRandom) -> [String] {
        let count = family.shape.singleResult ? 1 : random.integer(in: 1...4)
        return (0..<count).map { _ in "https://files.example/" + text(&random, "abcdef0123456789", 4...12) + ".mp4" }
    }
}

@Suite struct FamilyWriteReadTests {
    /// `statusData` of every family reads back, through bytes and `record`/`statusAnswer`, as the
    /// report it was written from.
    @Test(arguments: TaskFamily.all)
    func statusDataReadsBackAsItsReport(family: TaskFamily) throws {
        var checked = 0
        for state in ReportDraw.states(family) {
            for index in 0..<60 {
                var random = SeededRandom(seed: ReportDraw.seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(state.hashValue & 0xFFFF))
                let report = ReportDraw.status(family, state, &random)
                var expected = report
                if state == .fail, report.failCode == nil, report.failMessage == nil,
                    family.states[0].values.contains(where: { $0.meaning == .runningUnlessError })
                {
                    expected.failMessage = family.shape.failureMessage  // Aleph's failure needs an error to say so
                }
                let bytes = KieWire.statusData(for: report, family: family).serializedBytes()
                let data = try JSONValue.parse(bytes)
                let context = "\(family) \(state) #\(index): \(String(decoding: bytes, as: UTF8.self))"
                #expect(try KieWire.record(data, family: family) == expected, "\(context)")
                let answer = KieWire.statusAnswer(
                    KieEnvelope(code: 200, message: "success", data: data), httpStatus: 200, family: family, taskId: report.taskId)
                #expect(answer == .report(expected), "\(context)")
                checked += 1
            }
        }
        #expect(checked >= 120)
    }

    /// `callbackBody` of every family reads back, through bytes and `callback`, as the report
    /// it was written from, as far as the family's callbacks carry it.
    @Test(arguments: TaskFamily.all)
    func callbackBodyReadsBackAsItsReport(family: TaskFamily) throws {
        let shape = family.shape
        var kinds: [(TaskState, String?)] = [(.success, nil), (.fail, nil)]
        if case .kinds(_, let progress, let final, let failure) = family.callbacks {
            kinds += progress.map { (.generating, $0) } + [(.success, final), (.fail, failure)]
        }
        for (state, kind) in kinds {
            for index in 0..<60 {
                var random = SeededRandom(seed: ReportDraw.seed &+ UInt64(index) &* 0x2545_F491_4F6C_DD1D ^ UInt64((kind ?? "").utf8.count))
                var report = ReportDraw.status(family, state == .generating ? (ReportDraw.states(family).first ?? .generating) : state, &random)
                report.state = state
                report.callbackKind = kind
                if state == .fail, report.failMessage == nil, random.chance(0.5) { report.failMessage = "flagged" }
                if kind == "first" { report.resultURLs = ReportDraw.urls(family, &random) }
                let statusData = KieWire.statusData(for: report, family: family)
                let bytes = KieWire.callbackBody(for: report, family: family, statusData: statusData).serializedBytes()
                let body = try JSONValue.parse(bytes)

                var expected = report
                if !shape.callbackIsStatusRecord {
                    expected.model = nil
                    expected.createdAt = nil
                    expected.completedAt = nil
                    expected.progress = nil
                    expected.creditsRemaining = nil
                    if shape.credits == nil { expected.creditsConsumed = nil }
                }
                expected.callbackFailed = false
                if case .kinds(_, _, let final, let failure) = family.callbacks {
                    expected.callbackKind = kind ?? (state == .fail ? failure : final)
                }
                if state == .fail {
                    let own = report.failCode.flatMap(Int.init).map { shape.failureCodes.contains($0) } ?? false
                    let code = own ? report.failCode! : String(shape.failureCode)
                    expected.failCode = shape.callbackIsStatusRecord ? (report.failCode ?? code) : code
                    expected.failMessage = report.failMessage ?? shape.failureMessage
                    expected.resultURLs = []
                }
                let context = "\(family) \(state) \(kind ?? "-") #\(index): \(String(decoding: bytes, as: UTF8.self))"
                #expect(try KieWire.callback(body: body, family: family) == expected, "\(context)")
                // From the envelope alone, with the task named by the route, the same report.
                let envelope = try #require(KieEnvelope(json: body))
                #expect(try KieWire.callback(envelope, family: family, taskId: report.taskId) == expected, "\(context)")
            }
        }
    }

    /// Synthesized callbacks are what Kie would send: the documented members and no others.
    @Test func callbackBodiesHaveTheDocumentedShape() throws {
        func body(_ family: TaskFamily, _ state: TaskState, kind: String? = nil, failCode: String? = nil) -> JSONValue {
            var report = TaskReport(taskId: "t1", family: family, state: state, failCode: failCode, resultURLs: state == .success ? ["u"] : [])
            report.callbackKind = kind
            return KieWire.callbackBody(for: report, family: family)
        }
        #expect(body(.aleph, .success) == ["code": 200, "msg": "success", "data": ["result_video_url": "u"], "taskId": "t1"])
        #expect(body(.aleph, .fail)["data"] == .null && body(.aleph, .fail)["taskId"] == "t1" && body(.aleph, .fail)["code"] == 400)
        #expect(body(.runway, .success)["data"] == ["task_id": "t1", "video_url": "u"])
        #expect(body(.runway, .fail, failCode: "400")["code"] == 400)
        #expect(body(.luma, .success)["data"] == ["taskId": "t1", "resultUrls": ["u"]])
        #expect(body(.luma, .fail)["code"] == 500)
        #expect(body(.midjourney, .success)["data"] == ["taskId": "t1", "resultUrls": ["u"]])
        #expect(body(.gpt4oImage, .success)["data"] == ["taskId": "t1", "info": ["result_urls": ["u"]]])
        #expect(body(.gpt4oImage, .fail, failCode: "451")["code"] == 451)
        #expect(body(.fluxKontext, .success)["data"] == ["taskId": "t1", "info": ["resultImageUrl": "u"]])
        #expect(body(.veo4K, .success)["data"] == ["taskId": "t1", "info": ["resultUrls": ["u"]]])  // no fallbackFlag
        #expect(body(.veo4K, .fail)["code"] == 500)
        #expect(body(.veo, .success)["data"]?["fallbackFlag"] == false)
        #expect(body(.suno, .generating, kind: "text")["data"] == ["task_id": "t1", "callbackType": "text"])
        #expect(body(.suno, .fail)["data"]?["callbackType"] == "error")
        #expect(body(.suno, .fail)["code"] == 501)
        // The failure's text: in `msg` where the callback has nowhere else for it (Veo), in
        // `data` under the family's fixed `msg` where it has (market `failMsg`, Suno `error`).
        func failure(_ family: TaskFamily) -> JSONValue {
            KieWire.callbackBody(for: TaskReport(taskId: "t1", family: family, state: .fail, failCode: "501", failMessage: "boom"), family: family)
        }
        #expect(failure(.veo)["msg"] == "boom")
        #expect(failure(.market)["msg"] == "Playground task failed." && failure(.market)["data"]?["failMsg"] == "boom")
        #expect(failure(.suno)["msg"] == "Audio generation failed." && failure(.suno)["data"]?["error"] == "boom")
        #expect(body(.suno, .success)["data"] == ["task_id": "t1", "callbackType": "complete", "data": [["audio_url": "u"]]])
    }

    @Test func statusDataHasTheDocumentedShape() throws {
        let runway = KieWire.statusData(
            for: TaskReport(taskId: "r", family: .runway, state: .fail, createdAt: 1_755_267_900_000, failCode: "400", failMessage: "no"),
            family: .runway)
        #expect(runway == ["taskId": "r", "state": "fail", "failCode": 400, "failMsg": "no", "generateTime": "2025-08-15 14:25:00"])
        let market = KieWire.statusData(
            for: TaskReport(taskId: "m", family: .market, model: "sora-2-text-to-video", state: .fail, failCode: "500"), family: .market)
        #expect(market["failCode"] == "500")  // market's failCode is a string
        #expect(market["model"] == "sora-2-text-to-video")
        let veo = KieWire.statusData(for: TaskReport(taskId: "v", family: .veo, model: "veo3", state: .generating), family: .veo)
        #expect(veo["paramJson"] == .string(#"{"model":"veo3"}"#))  // JSON text, as Kie sends it
        var gpt = TaskReport(taskId: "g", family: .gpt4oImage, state: .generating)
        gpt.progress = 7
        let gptData = KieWire.statusData(for: gpt, family: .gpt4oImage)
        #expect(gptData["progress"] == "0.07" && gptData["status"] == "GENERATING" && gptData["successFlag"] == 0)
        // Families that report no credits or progress are not made to.
        var runningRunway = TaskReport(taskId: "r", family: .runway, state: .generating, creditsConsumed: 5)
        runningRunway.progress = 50
        let quiet = KieWire.statusData(for: runningRunway, family: .runway)
        #expect(quiet["creditsConsumed"] == nil && quiet["progress"] == nil)
        // A report saying "callback failed" where the family has no such flag still says its state.
        var flagged = TaskReport(taskId: "v", family: .veo, state: .success, resultURLs: ["u"])
        flagged.callbackFailed = true
        #expect(try KieWire.record(KieWire.statusData(for: flagged, family: .veo), family: .veo).state == .success)
        var luma = TaskReport(taskId: "l", family: .luma, state: .success, resultURLs: ["u"])
        luma.callbackFailed = true
        #expect(KieWire.statusData(for: luma, family: .luma)["successFlag"] == 4)
    }
}
