import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Every family of the table: create, status and callbacks read back by the agent's own
/// decoders (`KieWire.record`, `KieWire.callback`) as what the simulated task did.
@Suite struct KieSimulatorFamiliesTests {
    @Test(arguments: TaskFamily.all)
    func aTaskRoundTripsThroughStatusAndCallbacks(family: TaskFamily) async throws {
        let h = Harness {
            $0.legacyPayloadRate = 0
            $0.rateLimit = nil
        }
        let made = try await h.createTask(family)
        let started = try #require(h.simulator.task(id: made.tracked))
        #expect(started.kieTaskId == made.kieID && started.family == family)

        h.clock.set(started.generatingAt)
        let running = try #require(await h.status(family, made.kieID).json)
        if family.parentTaskSuffix != nil {
            // The job runs under its parent's id: the status call says so, with no record.
            let code = try #require(running["code"]?.intValue)
            let msg = try #require(running["msg"]?.stringValue)
            #expect(running["data"] == .null)
            #expect(family.runningAnswers.contains { Int64($0.code) == code && msg.lowercased().contains($0.messageContains) })
        } else {
            #expect(running["code"] == 200)
            let report = try KieWire.record(try #require(running["data"]), family: family)
            #expect(report.taskId == made.kieID)
            #expect(report.state == .generating)
        }

        await h.advance(millis: 3_600_000)
        let task = try #require(h.simulator.task(id: made.tracked))
        #expect(task.state == .success)
        let done = try #require(await h.status(family, made.kieID).json)
        #expect(done["code"] == 200)
        let record = try KieWire.record(try #require(done["data"]), family: family)
        #expect(record.taskId == made.kieID)
        #expect(record.state == .success)
        if family.parentTaskSuffix == nil { #expect(record.resultURLs == task.resultUrls) }

        let posts = h.callbacks(to: made.callBackUrl)
        let reports = try posts.map { try $0.report(family, taskId: made.kieID) }
        let kinds: [String?] = family.callbacks.kinds.isEmpty ? [nil] : family.callbacks.kinds
        #expect(reports.map(\.callbackKind) == kinds)
        #expect(reports.allSatisfy { $0.taskId == made.kieID })
        #expect(reports.dropLast().allSatisfy { $0.state == .generating })
        let last = try #require(reports.last)
        #expect(last.state == .success)
        #expect(last.resultURLs == task.resultUrls)
        #expect(!task.resultUrls.isEmpty)
    }

    @Test(arguments: TaskFamily.all)
    func aFailedTaskReadsAsFailedWithItsMessage(family: TaskFamily) async throws {
        let h = Harness {
            $0.legacyPayloadRate = 0
            $0.rateLimit = nil
            $0.failureRate = 1
        }
        let made = try await h.createTask(family)
        await h.advance(millis: 3_600_000)
        let task = try #require(h.simulator.task(id: made.tracked))
        let failure = try #require(task.plan.failure)
        #expect(task.state == .fail)
        #expect(TaskFailure.catalogue(for: family).contains(failure))

        if family.parentTaskSuffix == nil {
            let done = try #require(await h.status(family, made.kieID).json)
            let record = try KieWire.record(try #require(done["data"]), family: family)
            #expect(record.state == .fail)
            #expect(record.failMessage == failure.message)
            #expect(record.resultURLs.isEmpty)
        }
        let reports = try h.callbacks(to: made.callBackUrl).map { try $0.report(family, taskId: made.kieID) }
        let last = try #require(reports.last)
        #expect(last.state == .fail)
        #expect(last.failMessage == failure.message)
        #expect(last.taskId == made.kieID)
        if case .kinds(_, let progress, _, let failureKind) = family.callbacks {
            #expect(reports.map(\.callbackKind) == (progress + [failureKind]).map(Optional.some))
        } else {
            #expect(reports.count == 1)
        }
    }

    @Test func taskIdsHaveEachFamilysForm() async throws {
        let h = Harness { $0.rateLimit = nil }
        func isHex(_ s: Substring) -> Bool { s.allSatisfy { "0123456789abcdef".contains($0) } }
        let market = try await h.createTask(.market).kieID
        #expect(market.count == 32 && isHex(market[...]))
        for family in [TaskFamily.veo, .veoExtend] {
            let id = try await h.createTask(family).kieID
            #expect(id.hasPrefix("veo_task_") && id.count == "veo_task_".count + 12)
        }
        for family in [TaskFamily.runway, .aleph] {
            let parts = try await h.createTask(family).kieID.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy(isHex))
        }
        for family in [TaskFamily.luma, .suno, .gpt4oImage, .fluxKontext, .midjourney] {
            let id = try await h.createTask(family).kieID
            #expect(id.count == 32 && isHex(id[...]))
        }
    }

    @Test func everyFamilysCreateCountsTowardTheRateLimit() async throws {
        let h = Harness()
        let families = TaskFamily.all.filter { !Harness.needsParent($0, endpoint: $0.creates[0]) }
        for i in 0..<20 {
            let family = families[i % families.count]
            let answer = await h.create(family.creates[0], body: Harness.sampleCreate(family, parent: nil), callBackUrl: Harness.hookURL(family))
            #expect(answer?["code"] == 200, "\(family)")
        }
        for family in families {
            let answer = await h.create(family.creates[0], body: Harness.sampleCreate(family, parent: nil), callBackUrl: Harness.hookURL(family))
            #expect(answer?["code"] == 429, "\(family)")
        }
        #expect(h.simulator.snapshot().rateLimited == families.count)
        #expect(h.simulator.snapshot().tasksCreatedTotal == 20)
    }
}

/// What a create of each family must carry.
@Suite struct FamilyCreateValidationTests {
    @Test(arguments: TaskFamily.all.filter { $0 != .market && $0 != .veo })
    func aBodyThatIsNotAnObjectOrABadCallbackURLIsRefused(family: TaskFamily) async throws {
        let h = Harness()
        for body in ["[1,2]", "not json", "\"text\""] {
            #expect(await h.request("POST", family.creates[0].path, body: body).code == 400, "\(family) \(body)")
        }
        let bad = await h.create(family.creates[0], body: Harness.sampleCreate(family, parent: nil), callBackUrl: "ftp://x/cb")
        #expect(bad?["code"] == 422)
        #expect(bad?["msg"] == "callBackUrl is invalid")
        #expect(h.simulator.snapshot().tasksCreatedTotal == 0)
    }

    @Test func runwayExtendAndSunoNeedACallbackURLAsKieSays() async throws {
        let h = Harness { $0.rateLimit = nil }
        let parent = try await h.createTask(.runway)
        h.succeed(parent.tracked)
        await h.advance(millis: 3_600_000)
        let extend = try #require(TaskFamily.runway.creates.first { $0.label == "runway_extend" })
        let body: JSONValue = ["taskId": .string(parent.kieID), "prompt": "further", "quality": "720p"]
        let refused = await h.create(extend, body: body, callBackUrl: nil)
        #expect(refused?["code"] == 422 && refused?["msg"] == "callBackUrl is required")
        let accepted = await h.create(extend, body: body, callBackUrl: Harness.hookURL(.runway))
        let id = try #require(accepted?["data"]?["taskId"]?.stringValue)
        #expect(id != parent.kieID)
        #expect(h.simulator.task(id: id)?.sourceTaskId == parent.kieID)

        let suno = await h.create(TaskFamily.suno.creates[0], body: Harness.sampleCreate(.suno, parent: nil), callBackUrl: nil)
        #expect(suno?["code"] == 422 && suno?["msg"] == "callBackUrl is required")
        // Runway generate takes none.
        let generate = await h.create(TaskFamily.runway.creates[0], body: Harness.sampleCreate(.runway, parent: nil), callBackUrl: nil)
        #expect(generate?["code"] == 200)
    }

    @Test func theModelIsWhatTheTableReads() async throws {
        let h = Harness { $0.rateLimit = nil }
        _ = try await h.createTask(.suno)
        _ = try await h.createTask(.midjourney)
        _ = try await h.createTask(.aleph)
        let made = try await h.createTask(.veoExtend)
        let created = h.simulator.snapshot().tasksCreated
        #expect(created["suno/V4_5"] == 1)
        #expect(created["midjourney/mj_txt2img"] == 1)
        #expect(created["runway-aleph"] == 1)
        #expect(created["veo-extend/fast"] == 1)
        #expect(h.simulator.task(id: made.tracked)?.model == "veo-extend/fast")
        #expect(h.simulator.snapshot().tasksCreatedByFamily["veo_extend"] == 1)
    }

    @Test func veoExtendNeedsASuccessfulVeoTaskAndADocumentedModel() async throws {
        let h = Harness { $0.rateLimit = nil }
        let extend = TaskFamily.veoExtend.creates[0]
        let parent = try #require(await h.createVeo())
        let early = await h.create(extend, body: ["taskId": .string(parent), "prompt": "more"], callBackUrl: nil)
        #expect(early?["code"] == 400)
        h.succeed(parent)
        await h.advance(millis: 3_600_000)
        let wrongModel = await h.create(extend, body: ["taskId": .string(parent), "prompt": "more", "model": "veo3"], callBackUrl: nil)
        #expect(wrongModel?["code"] == 422)
        let noTask = await h.create(extend, body: ["prompt": "more"], callBackUrl: nil)
        #expect(noTask?["code"] == 422 && noTask?["msg"] == "taskId is required")
        let market = try #require(await h.createMarket())
        let notVeo = await h.create(extend, body: ["taskId": .string(market), "prompt": "more"], callBackUrl: nil)
        #expect(notVeo?["code"] == 422)
        for model in ["fast", "quality", "lite"] {
            let ok = await h.create(extend, body: ["taskId": .string(parent), "prompt": "more", "model": .string(model)], callBackUrl: nil)
            let id = try #require(ok?["data"]?["taskId"]?.stringValue)
            // A new Veo task, polled at veo/record-info like any.
            #expect(id != parent)
            #expect(await h.veoRecordInfo(id)?["code"] == 200)
        }
    }
}

/// Suno: up to three callbacks per task, in order, each with the usual retries and faults.
@Suite struct SunoCallbackTests {
    static let url = Harness.hookURL(.suno)

    @Test func textFirstAndCompleteArriveInOrderAsTheStatusMoves() async throws {
        let h = Harness { $0.rateLimit = nil }
        let made = try await h.createTask(.suno)
        let task = try #require(h.simulator.task(id: made.tracked))
        func status() async throws -> String? { try #require(await h.status(.suno, made.kieID).json)["data"]?["status"]?.stringValue }

        #expect(try await status() == "PENDING")
        #expect(h.callbacks(to: Self.url).isEmpty)
        await h.advance(millis: task.generatingAt - h.clock.now())
        #expect(try await status() == "TEXT_SUCCESS")
        #expect(h.callbacks(to: Self.url).map { $0.json?["data"]?["callbackType"] } == ["text"])
        let firstAt = task.progressTimes[1]
        #expect(firstAt > task.generatingAt && firstAt < task.completeAt)
        await h.advance(millis: firstAt - h.clock.now())
        #expect(try await status() == "FIRST_SUCCESS")
        await h.advance(millis: task.completeAt - h.clock.now())
        #expect(try await status() == "SUCCESS")

        let posts = h.callbacks(to: Self.url)
        #expect(posts.map { $0.json?["data"]?["callbackType"] } == ["text", "first", "complete"])
        #expect(posts.allSatisfy { $0.json?["data"]?["task_id"]?.stringValue == made.kieID })
        let reports = try posts.map { try $0.report(.suno, taskId: made.kieID) }
        #expect(reports.map(\.resultURLs) == [[], Array(task.resultUrls.prefix(1)), task.resultUrls])
        #expect(task.resultUrls.count == 2 && task.resultUrls.allSatisfy { $0.hasSuffix(".mp3") })
        #expect(h.simulator.deliveries().map(\.kind) == ["text", "first", "complete"])
    }

    @Test func aFailedTaskEndsWithAnErrorCallbackAndAFailureStatus() async throws {
        let h = Harness { $0.failureRate = 1 }
        let made = try await h.createTask(.suno)
        await h.advance(millis: 3_600_000)
        let posts = h.callbacks(to: Self.url)
        #expect(posts.map { $0.json?["data"]?["callbackType"] } == ["text", "first", "error"])
        let error = try #require(posts.last?.json)
        #expect(error["code"] != 200)
        let status = try #require(await h.status(.suno, made.kieID).json?["data"]?["status"]?.stringValue)
        let named = try #require(h.simulator.task(id: made.tracked)?.plan.failure?.stateName)
        #expect(status == named)
    }

    @Test func aDroppedCallbackFaultDropsOnlyTheLastCallback() async throws {
        let h = Harness { $0.dropCallbackRate = 1 }
        let made = try await h.createTask(.suno)
        await h.advance(millis: 3_600_000)
        #expect(h.callbacks(to: Self.url).map { $0.json?["data"]?["callbackType"] } == ["text", "first"])
        #expect(h.simulator.snapshot().callbacksDropped == 1)
        #expect(try #require(await h.status(.suno, made.kieID).json)["data"]?["status"] == "SUCCESS")
    }

    @Test func duplicatesAndLatenessHitOnlyTheLastCallback() async throws {
        let h = Harness {
            $0.duplicateCallbackRate = 1
            $0.lateCallbackRate = 1
        }
        _ = try await h.createTask(.suno)
        await h.advance(millis: 3_600_000)
        let kinds = h.callbacks(to: Self.url).compactMap { $0.json?["data"]?["callbackType"]?.stringValue }
        #expect(Array(kinds.prefix(2)) == ["text", "first"])
        // One or two extra copies of `complete`, after the two progress callbacks.
        #expect(kinds.dropFirst(2).allSatisfy { $0 == "complete" } && (2...3).contains(kinds.count - 2))
    }

    @Test func eachCallbackIsRetriedOnItsOwn() async throws {
        // The receiver refuses its first post (the `text` callback) once.
        let h = Harness(sender: RecordingSender(failures: [.status(500)])) { $0.callbackRetryDelay = .zero }
        let made = try await h.createTask(.suno)
        let task = try #require(h.simulator.task(id: made.tracked))
        await h.advance(millis: task.generatingAt - h.clock.now())
        await h.advance(millis: 3_600_000)
        let deliveries = h.simulator.deliveries()
        #expect(deliveries.map(\.kind) == ["text", "text", "first", "complete"])
        #expect(deliveries.map(\.attempt) == [1, 2, 1, 1])
    }

    @Test func anEarlyTaskDeliversAllThreeInOrderBeforeTheCreateAnswer() async throws {
        let h = Harness { $0.earlyCallbackRate = 1 }
        let answer = await h.create(TaskFamily.suno.creates[0], body: Harness.sampleCreate(.suno, parent: nil), callBackUrl: Self.url)
        let id = try #require(answer?["data"]?["taskId"]?.stringValue)
        let posts = h.callbacks(to: Self.url)
        #expect(posts.map { $0.json?["data"]?["callbackType"] } == ["text", "first", "complete"])
        #expect(posts.allSatisfy { $0.json?["data"]?["task_id"]?.stringValue == id })
    }
}

/// Veo 4K: a job under its parent's id, with a callback of its own to its own URL.
@Suite struct Veo4KTests {
    static let url4K = "http://127.0.0.1:9464/hooks/4k?secret=s"

    @Test func theJobAnswersTheParentsIdRunsOnItsOwnAndCallsItsOwnURL() async throws {
        let h = Harness {
            $0.rateLimit = nil
            $0.webhookHMACKey = "whsec_test"
        }
        let made = try await h.createTask(.veo4K, callBackUrl: Self.url4K)
        let parent = made.kieID
        #expect(made.tracked == "\(parent)#4k")
        let parentPosts = h.callbacks(to: Harness.hookURL(.veo)).count
        #expect(parentPosts == 1)

        // The create answer names the parent, with no results yet.
        let again = await h.create(TaskFamily.veo4K.creates[0], body: ["taskId": .string(parent), "index": 1], callBackUrl: Self.url4K)
        #expect(again == ["code": 200, "msg": "success", "data": ["taskId": .string(parent), "resultUrls": nil, "imageUrls": nil]])

        // While it runs, the parent's record-info answers 422 "4k is processing".
        let processing = try #require(await h.veoRecordInfo(parent))
        #expect(processing == ["code": 422, "msg": "4k is processing", "data": nil])
        #expect(h.simulator.snapshot().processingAnswers == 1)
        // Asking again for the same index while it runs is refused the same way.
        #expect(await h.create(TaskFamily.veo4K.creates[0], body: ["taskId": .string(parent)], callBackUrl: Self.url4K) == processing)

        await h.advance(millis: 3_600_000)
        let record = try #require(await h.veoRecordInfo(parent))
        #expect(record["code"] == 200 && record["data"]?["successFlag"] == 1)

        let posts = h.callbacks(to: Self.url4K)
        #expect(posts.count == 2)  // index 0 and index 1
        #expect(h.callbacks(to: Harness.hookURL(.veo)).count == parentPosts)
        let job = try #require(h.simulator.task(id: made.tracked))
        let results = JSONValue.array(job.resultUrls.map(JSONValue.string))
        let post = try #require(posts.first { $0.json?["data"]?["info"]?["resultUrls"] == results })
        let body = try #require(post.json)
        #expect(body["code"] == 200 && body["msg"] == "4K Video generated successfully.")
        #expect(body["data"]?["taskId"]?.stringValue == parent)
        #expect(body["data"]?["info"]?["imageUrls"]?.arrayValue?.count == 1)
        #expect(job.resultUrls.allSatisfy { !$0.contains("#") })
        // Kie signs the id the callback names: the parent's.
        let timestamp = try #require(post.headers["X-Webhook-Timestamp"])
        #expect(post.headers["X-Webhook-Signature"] == HMACSHA256.kieSignature(key: "whsec_test", taskId: parent, timestamp: timestamp))
        #expect(h.simulator.task(id: "\(parent)#4k1")?.kieTaskId == parent)
    }

    @Test func aFailedJobCallsBackWithCode500AndSometimesNoData() async throws {
        let h = Harness {
            $0.failureRate = 1
            $0.legacyPayloadRate = 1
            $0.rateLimit = nil
        }
        let made = try await h.createTask(.veo4K, callBackUrl: Self.url4K)
        await h.advance(millis: 3_600_000)
        let post = try #require(h.callbacks(to: Self.url4K).first)
        #expect(post.json?["code"] == 500)
        #expect(post.json?["data"] == .null)
        let report = try post.report(.veo4K, taskId: made.kieID)
        #expect(report.state == .fail && report.taskId == made.kieID)
        // The parent (made to succeed) is unaffected.
        #expect(await h.veoRecordInfo(made.kieID)?["data"]?["successFlag"] == 1)
    }

    @Test func aJobNeedsASuccessfulVeoParentAndAValidIndex() async throws {
        let h = Harness { $0.rateLimit = nil }
        let create = TaskFamily.veo4K.creates[0]
        let running = try #require(await h.createVeo())
        #expect(await h.create(create, body: ["taskId": .string(running)], callBackUrl: Self.url4K)?["code"] == 400)
        #expect(await h.create(create, body: ["taskId": "veo_task_unknown"], callBackUrl: Self.url4K)?["code"] == 422)
        #expect(await h.create(create, body: [:], callBackUrl: Self.url4K)?["code"] == 422)
        h.succeed(running)
        await h.advance(millis: 3_600_000)
        for index: JSONValue in [-1, "x", 1_000_000] {
            #expect(await h.create(create, body: ["taskId": .string(running), "index": index], callBackUrl: Self.url4K)?["code"] == 422)
        }
        #expect(h.simulator.snapshot().tasksCreatedByFamily["veo_4k"] == nil)
        // A job's own key is no task id Kie knows.
        #expect(await h.create(create, body: ["taskId": .string(running)], callBackUrl: Self.url4K)?["code"] == 200)
        #expect(await h.request("GET", "/api/v1/veo/record-info?taskId=\(running)%234k").json?["msg"] == "recordInfo is null")
    }
}

/// Luma's "callback failed" flag and Aleph's ambiguous 0.
@Suite struct FamilyStateEncodingTests {
    @Test func lumaReportsFlag4WhenItsCallbackWasDropped() async throws {
        let h = Harness { $0.dropCallbackRate = 1 }
        let made = try await h.createTask(.luma)
        await h.advance(millis: 3_600_000)
        let data = try #require(await h.status(.luma, made.kieID).json?["data"])
        #expect(data["successFlag"] == 4)
        let report = try KieWire.record(data, family: .luma)
        #expect(report.state == .success && report.callbackFailed)
        #expect(report.resultURLs == h.simulator.task(id: made.tracked)?.resultUrls)
        #expect(h.callbacks(to: made.callBackUrl).isEmpty)
    }

    @Test func lumaReportsFlag4OnceItsCallbackRanOutOfRetries() async throws {
        let h = Harness(sender: RecordingSender { _ in .status(503) }) { $0.callbackRetryDelay = .seconds(30) }
        let made = try await h.createTask(.luma)
        let task = try #require(h.simulator.task(id: made.tracked))
        await h.advance(millis: task.completeAt - h.clock.now())
        // Delivered once and refused: Kie is still retrying.
        #expect(await h.status(.luma, made.kieID).json?["data"]?["successFlag"] == 1)
        for _ in 0..<2 { await h.advance(millis: 30_000) }
        #expect(h.callbacks(to: made.callBackUrl).count == 3)
        #expect(await h.status(.luma, made.kieID).json?["data"]?["successFlag"] == 1)
        await h.advance(millis: 30_000)
        // The third retry was refused too: Kie gives up.
        #expect(h.callbacks(to: made.callBackUrl).count == 4)
        #expect(await h.status(.luma, made.kieID).json?["data"]?["successFlag"] == 4)
        #expect(h.simulator.snapshot().callbacksFailedDelivery == 1)
    }

    @Test func lumaReportsFlag1WhenItsCallbackArrivedOrThereWasNone() async throws {
        let h = Harness()
        let delivered = try await h.createTask(.luma)
        let silent = await h.create(TaskFamily.luma.creates[0], body: Harness.sampleCreate(.luma, parent: nil), callBackUrl: nil)
        let silentID = try #require(silent?["data"]?["taskId"]?.stringValue)
        await h.advance(millis: 3_600_000)
        #expect(await h.status(.luma, delivered.kieID).json?["data"]?["successFlag"] == 1)
        #expect(await h.status(.luma, silentID).json?["data"]?["successFlag"] == 1)
    }

    @Test func otherFamiliesNeverSayCallbackFailed() async throws {
        let h = Harness { $0.dropCallbackRate = 1 }
        let made = try await h.createTask(.fluxKontext)
        await h.advance(millis: 3_600_000)
        #expect(await h.status(.fluxKontext, made.kieID).json?["data"]?["successFlag"] == 1)
    }

    @Test func alephReportsAFailureAs0WithAnError() async throws {
        let h = Harness { $0.failureRate = 1 }
        let made = try await h.createTask(.aleph)
        let task = try #require(h.simulator.task(id: made.tracked))
        h.clock.set(task.generatingAt)
        let running = try #require(await h.status(.aleph, made.kieID).json?["data"])
        #expect(running["successFlag"] == 0)
        #expect(running["errorCode"] == nil && running["errorMessage"] == nil)
        #expect(try KieWire.record(running, family: .aleph).state == .generating)

        await h.advance(millis: 3_600_000)
        let failed = try #require(await h.status(.aleph, made.kieID).json?["data"])
        #expect(failed["successFlag"] == 0)
        #expect(failed["errorCode"]?.nonEmptyString == String(task.plan.failure?.code ?? 0))
        #expect(failed["errorMessage"]?.stringValue == task.plan.failure?.message)
        let report = try KieWire.record(failed, family: .aleph)
        #expect(report.state == .fail)
    }

    @Test func gpt4oImageReportsProgressAsAStringFraction() async throws {
        let h = Harness()
        let made = try await h.createTask(.gpt4oImage)
        let task = try #require(h.simulator.task(id: made.tracked))
        h.clock.set(task.generatingAt + (task.completeAt - task.generatingAt) / 2)
        let data = try #require(await h.status(.gpt4oImage, made.kieID).json?["data"])
        let progress = try #require(data["progress"]?.stringValue)
        #expect(progress.hasPrefix("0.") && progress.count == 4)
        #expect(data["status"] == "GENERATING" && data["successFlag"] == 0)
        #expect(try KieWire.record(data, family: .gpt4oImage).progress == h.simulator.task(id: made.tracked)?.progress(at: h.clock.now()))
        await h.advance(millis: 3_600_000)
        let done = try #require(await h.status(.gpt4oImage, made.kieID).json?["data"])
        #expect(done["progress"] == "1.00" && done["status"] == "SUCCESS" && done["successFlag"] == 1)
    }

    @Test func fractionsAreTwoDecimals() {
        #expect(KieSimulator.fraction(0) == "0.00")
        #expect(KieSimulator.fraction(7) == "0.07")
        #expect(KieSimulator.fraction(45) == "0.45")
        #expect(KieSimulator.fraction(100) == "1.00")
    }
}

/// The same faults and seeds for every family.
@Suite struct FamilyFaultTests {
    /// Families a test can create without an earlier task.
    static let plain = TaskFamily.all.filter { !Harness.needsParent($0, endpoint: $0.creates[0]) }

    @Test func statusFaultsAnswer501Or408ForEveryPolledFamily() async throws {
        let h = Harness {
            $0.statusFaultRate = 1
            $0.rateLimit = nil
        }
        var made: [(TaskFamily, Harness.Made)] = []
        for family in Self.plain { made.append((family, try await h.createTask(family))) }
        await h.advance(millis: 3_600_000)
        for (family, task) in made {
            let answer = try #require(await h.status(family, task.kieID).json)
            #expect([501, 408].contains(answer["code"]?.intValue ?? 0), "\(family)")
            #expect(answer["data"] == .null)
            let last = try #require(h.callbacks(to: task.callBackUrl).last)
            #expect(try last.report(family, taskId: task.kieID).state == .fail, "\(family)")
        }
        #expect(h.simulator.snapshot().statusFaults == Self.plain.count)
    }

    @Test func statusLagHidesEveryFamilysNewTasks() async throws {
        let h = Harness {
            $0.statusLag = .seconds(5)
            $0.rateLimit = nil
        }
        for family in Self.plain {
            let made = try await h.createTask(family)
            #expect(await h.status(family, made.kieID).code == 404, "\(family)")
        }
        h.clock.advance(byMillis: 5_000)
        for family in Self.plain {
            let made = try await h.createTask(family)
            h.clock.advance(byMillis: 5_000)
            #expect(await h.status(family, made.kieID).code == 200, "\(family)")
        }
    }

    @Test func aTaskIsUnknownAtAnotherFamilysStatusEndpoint() async throws {
        let h = Harness { $0.rateLimit = nil }
        let runway = try await h.createTask(.runway)
        #expect(try await h.status(.luma, runway.kieID).json == KieFixtures.recordInfoUnknown)
        #expect(try await h.status(.runway, "no-such-task").json == KieFixtures.recordInfoUnknown)
        #expect(await h.status(.runway, runway.kieID).code == 200)
    }

    @Test func sameSeedGivesTheSameRunAcrossFamilies() async throws {
        func run(seed: UInt64) async throws -> ([CallbackDelivery], SimulatorStats, [String]) {
            let sender = RecordingSender { body in
                body.reduce(0, { ($0 &* 31 &+ Int($1)) & 0xFFFF }) % 8 == 0 ? .status(503) : .status(200)
            }
            let h = Harness(sender: sender) {
                $0.seed = seed
                $0.speed = 100
                $0.rateLimit = nil
                $0.failureRate = 0.2
                $0.dropCallbackRate = 0.1
                $0.duplicateCallbackRate = 0.1
                $0.lateCallbackRate = 0.1
                $0.earlyCallbackRate = 0.05
                $0.statusFaultRate = 0.05
                $0.callbackRetryDelay = .seconds(1)
            }
            var ids: [String] = []
            for round in 0..<6 {
                for family in TaskFamily.all {
                    if round > 0, Harness.needsParent(family, endpoint: family.creates[0]) { continue }
                    ids.append(try await h.createTask(family).kieID)
                    await h.advance(millis: 250)
                }
            }
            await h.advance(millis: 3_600_000)
            return (h.simulator.deliveries(), h.simulator.snapshot(), ids)
        }
        let a = try await run(seed: 42)
        let b = try await run(seed: 42)
        let c = try await run(seed: 43)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.2 == b.2)
        #expect(a.0.count > 40)
        #expect(a.2 != c.2)
        #expect(Set(a.1.tasksCreatedByFamily.keys) == Set(TaskFamily.all.map(\.rawValue)))
    }
}

/// `/_simulator/stats` and `/_simulator/tasks` over every family.
@Suite struct FamilyInspectionTests {
    @Test func statsAndTasksCoverEveryFamily() async throws {
        let h = Harness { $0.rateLimit = nil }
        var made: [TaskFamily: Harness.Made] = [:]
        for family in TaskFamily.all { made[family] = try await h.createTask(family) }
        await h.advance(millis: 3_600_000)
        let stats = try #require(await h.request("GET", "/_simulator/stats", key: nil).json)
        let byFamily = try #require(stats["tasks_created_by_family"]?.objectValue)
        #expect(Set(byFamily.map(\.key)) == Set(TaskFamily.all.map(\.rawValue)))

        let tasks = try #require(await h.request("GET", "/_simulator/tasks", key: nil).json?["tasks"]?.arrayValue)
        #expect(Set(tasks.compactMap { $0["family"]?.stringValue }) == Set(TaskFamily.all.map(\.rawValue)))
        let job = try #require(tasks.first { $0["family"] == "veo_4k" })
        let fourK = try #require(made[.veo4K])
        #expect(job["task_id"]?.stringValue == fourK.tracked)
        #expect(job["kie_task_id"]?.stringValue == fourK.kieID)
        #expect(job["source_task_id"]?.stringValue == fourK.kieID)
        let suno = try #require(tasks.first { $0["family"] == "suno" })
        #expect(suno["deliveries"]?.arrayValue?.map { $0["kind"] } == ["text", "first", "complete"])
        #expect(tasks.allSatisfy { $0["deliveries"]?.arrayValue?.isEmpty == false })
        #expect(!(try #require(await h.request("GET", "/_simulator/tasks", key: nil)).body.contains(Array("secret=s".utf8))))
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
