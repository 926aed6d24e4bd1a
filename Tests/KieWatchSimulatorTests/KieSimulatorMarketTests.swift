import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Market endpoints: create, recordInfo through the lifecycle, callbacks, credits, validation.
@Suite struct KieSimulatorMarketTests {
    @Test func createAnswersATaskIdInTheFixtureShape() async throws {
        let h = Harness()
        let answer = await h.request(
            "POST", "/api/v1/jobs/createTask",
            body: #"{"model":"sora-2-pro","callBackUrl":"http://127.0.0.1/cb","input":{"prompt":"x","n_frames":"10"}}"#)
        let json = try #require(answer.json)
        #expect(answer.status == 200)
        #expect(shapeMismatches(json, try KieFixtures.createResponseOK).isEmpty)
        let id = try #require(json["data"]?["taskId"]?.stringValue)
        #expect(id.count == 32 && id.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(h.simulator.snapshot().tasksCreated == ["sora-2-pro": 1])
    }

    @Test func lifecycleWaitingQueuingGeneratingSuccessThroughRecordInfo() async throws {
        let h = Harness()
        let id = try #require(await h.createMarket(model: "sora-2-text-to-video"))
        let task = try #require(h.simulator.task(id: id))
        #expect(task.createTime == h.clock.now())

        let waiting = try #require(await h.recordInfo(id))
        #expect(waiting["data"]?["state"] == "waiting")
        #expect(waiting["data"]?["progress"] == 0)

        h.clock.set(task.queuingAt)
        #expect(await h.recordInfo(id)?["data"]?["state"] == "queuing")

        h.clock.set(task.generatingAt + (task.completeAt - task.generatingAt) / 2)
        let generating = try #require(await h.recordInfo(id))
        #expect(generating["data"]?["state"] == "generating")
        #expect(shapeMismatches(generating, try KieFixtures.recordInfoGenerating).isEmpty)
        let progress = try #require(generating["data"]?["progress"]?.intValue)
        #expect((45...55).contains(progress))
        #expect(generating["data"]?["updateTime"]?.intValue == task.generatingAt)
        #expect(generating["data"]?["param"]?.unwrappingEmbeddedJSON["model"] == "sora-2-text-to-video")
        await h.simulator.tick()
        #expect(h.sender.received.isEmpty)

        h.clock.set(task.completeAt)
        let done = try #require(await h.recordInfo(id))
        let data = try #require(done["data"])
        #expect(data["state"] == "success")
        #expect(shapeMismatches(done, try KieFixtures.recordInfoSuccess).isEmpty)
        #expect(data["costTime"]?.intValue == task.completeAt - task.createTime)
        #expect(data["completeTime"]?.intValue == task.completeAt)
        #expect(data["progress"] == 100)
        #expect(data["failCode"] == "" && data["failMsg"] == "")
        let urls = try #require(data["resultJson"]?.unwrappingEmbeddedJSON["resultUrls"]?.arrayValue)
        #expect(urls.count == 1)
        #expect(data["creditsConsumed"] == 30)

        // Generation times are realistic: Sora 2 text takes about a minute or more.
        #expect(task.completeAt - task.generatingAt >= 30_000)
    }

    @Test func callbackIsPostedAtCompletionInTheFixtureShape() async throws {
        let h = Harness { $0.legacyPayloadRate = 0 }
        let id = try #require(await h.createMarket())
        let task = try #require(h.simulator.task(id: id))
        await h.advance(millis: task.completeAt - h.clock.now() - 1)
        #expect(h.sender.received.isEmpty)
        await h.advance(millis: 1)
        let post = try #require(h.sender.received.first)
        #expect(h.sender.received.count == 1)
        #expect(post.url == Harness.callbackURL)
        #expect(post.headers["Content-Type"] == "application/json")
        let body = try #require(post.json)
        #expect(shapeMismatches(body, try KieFixtures.callbackMarketSuccessCreditsConsumed).isEmpty)
        #expect(body["data"]?["taskId"]?.stringValue == id)
        #expect(body["data"]?["creditsConsumed"] == 55)
        #expect(body["data"]?["consumeCredits"] == nil)
        let delivery = try #require(h.simulator.deliveries().first)
        #expect(delivery.taskId == id && delivery.attempt == 1 && delivery.result == .status(200))
        #expect(delivery.time == task.completeAt)
    }

    @Test func legacyCallbacksUseConsumeCreditsAndRemainedCredits() async throws {
        let h = Harness {
            $0.legacyPayloadRate = 1
            $0.initialCredits = 1000
        }
        let id = try #require(await h.createMarket(model: "sora-2-text-to-video"))
        await h.advance(millis: 3_600_000)
        let body = try #require(h.sender.received.first?.json)
        #expect(shapeMismatches(body, try KieFixtures.callbackMarketSuccess).isEmpty)
        #expect(body["data"]?["taskId"]?.stringValue == id)
        #expect(body["data"]?["consumeCredits"] == 30)
        #expect(body["data"]?["remainedCredits"] == 970)
        #expect(body["data"]?["creditsConsumed"] == nil)
        // Sora results come with watermarked copies too.
        #expect(body["data"]?["resultJson"]?.unwrappingEmbeddedJSON["resultWaterMarkUrls"] != nil)
    }

    @Test func failedTaskAnswersCode200WithStateFailAndCallsBackWith501() async throws {
        let h = Harness {
            $0.failureRate = 1
            $0.legacyPayloadRate = 1
            $0.initialCredits = 100
        }
        let id = try #require(await h.createMarket(model: "grok-imagine/text-to-video"))
        #expect(h.simulator.snapshot().creditsRemaining == 80)
        await h.advance(millis: 3_600_000)
        let record = try #require(await h.recordInfo(id))
        #expect(record["code"] == 200)
        #expect(record["data"]?["state"] == "fail")
        #expect(shapeMismatches(record, try KieFixtures.recordInfoFail).isEmpty)
        #expect(record["data"]?["failCode"]?.nonEmptyString != nil)
        #expect(record["data"]?["failMsg"]?.nonEmptyString != nil)
        #expect(record["data"]?["resultJson"] == .null)

        let callback = try #require(h.sender.received.first?.json)
        #expect(shapeMismatches(callback, try KieFixtures.callbackMarketFail).isEmpty)
        #expect(callback["code"] == 501 && callback["msg"] == "Playground task failed.")
        #expect(callback["data"]?["consumeCredits"] == 0)
        // A failed task gives its credits back.
        #expect(callback["data"]?["remainedCredits"] == 100)
        #expect(await h.request("GET", "/api/v1/chat/credit").json?["data"] == 100)
        #expect(h.simulator.snapshot().tasksFailed == 1)
    }

    @Test func noCallBackUrlMeansNoCallback() async throws {
        let h = Harness()
        let id = try #require(await h.createMarket(callBackUrl: nil))
        await h.advance(millis: 3_600_000)
        #expect(h.simulator.task(id: id)?.state == .success)
        #expect(h.sender.received.isEmpty && h.simulator.deliveries().isEmpty)
    }

    @Test func creditsAreReservedAtCreateAndInsufficientCreditsAnswer402() async throws {
        let h = Harness { $0.initialCredits = 100 }
        #expect(await h.createMarket(model: "kling-2.6/text-to-video") != nil)  // 55
        let refused = try #require(
            await h.request(
                "POST", "/api/v1/jobs/createTask", body: #"{"model":"kling-2.6/text-to-video","input":{"prompt":"x"}}"#
            ).json)
        #expect(refused["code"] == 402)
        #expect(shapeMismatches(refused, try KieFixtures.error402).isEmpty)
        #expect(await h.request("GET", "/api/v1/chat/credit").json?["data"] == 45)
        // A cheaper model still fits.
        #expect(await h.createMarket(model: "grok-imagine/text-to-video") != nil)  // 20
        await h.advance(millis: 3_600_000)
        let stats = h.simulator.snapshot()
        #expect(stats.insufficientCredits == 1)
        #expect(stats.creditsConsumed == 75 && stats.creditsRemaining == 25)
    }

    @Test(arguments: [
        ("not json", 400),
        (#"{"input":{"prompt":"x"}}"#, 422),
        (#"{"model":"","input":{"prompt":"x"}}"#, 422),
        (#"{"model":"kling-2.6/text-to-video"}"#, 422),
        (#"{"model":"kling-2.6/text-to-video","input":{"duration":"5"}}"#, 422),
        (#"{"model":"kling-2.6/text-to-video","input":{"prompt":"x"},"callBackUrl":"ftp://x"}"#, 422),
    ])
    func invalidCreatesAreRefused(body: String, code: Int64) async {
        let h = Harness()
        let answer = await h.request("POST", "/api/v1/jobs/createTask", body: body)
        #expect(answer.status == 200)
        #expect(answer.code == code)
        #expect(h.simulator.snapshot().tasksCreatedTotal == 0)
        #expect(h.simulator.snapshot().validationErrors == 1)
    }

    @Test func imageDrivenModelsNeedNoPromptAndUnknownModelsAreAccepted() async {
        let h = Harness()
        let i2v = await h.request(
            "POST", "/api/v1/jobs/createTask",
            body: #"{"model":"sora-2-image-to-video","input":{"image_urls":["https://x/y.png"]}}"#)
        #expect(i2v.code == 200)
        #expect(await h.createMarket(model: "brand-new/model-2027") != nil)
    }

    @Test func unknownTaskIdAnswers422RecordInfoIsNull() async throws {
        let h = Harness()
        let answer = await h.request("GET", "/api/v1/jobs/recordInfo?taskId=0123456789abcdef0123456789abcdef")
        let json = try #require(answer.json)
        #expect(answer.status == 200)
        #expect(try json == KieFixtures.recordInfoUnknown)
        // A Veo id is not a market record.
        let veo = try #require(await h.createVeo())
        #expect(try await h.recordInfo(veo) == KieFixtures.recordInfoUnknown)
    }
}

@Suite struct KieSimulatorStatusFaultTests {
    @Test func anInjectedStatusFaultAnswersItsCodeWithNoRecordOnceTheTaskHasEnded() async throws {
        for code in [501, 408] {
            let h = Harness { $0.rateLimit = nil }
            let id = try #require(await h.createMarket())
            #expect(h.simulator.injectStatusFault(code, taskId: id))
            #expect(await h.recordInfo(id)?["data"]?["state"] != nil)  // still running: the record
            await h.advance(millis: 30 * 60_000)
            let answer = try #require(await h.recordInfo(id))
            #expect(answer["code"] == .int(Int64(code)))
            #expect(answer["data"] == .null)
            #expect(answer["msg"]?.stringValue?.isEmpty == false)
            let callback = try #require(h.sender.received.first?.json)
            #expect(callback["code"] == 501 && callback["data"]?["state"] == "fail")
            #expect(callback["data"]?["failCode"] == .string(String(code)))
            #expect(h.simulator.snapshot().statusFaults == 1)
        }
        #expect(!Harness().simulator.injectStatusFault(501, taskId: "nope"))
    }

    @Test func aVeoTaskWithAStatusFaultAnswersItToo() async throws {
        let h = Harness()
        let id = try #require(await h.createVeo())
        h.simulator.injectStatusFault(501, taskId: id)
        await h.advance(millis: 30 * 60_000)
        let answer = try #require(await h.veoRecordInfo(id))
        #expect(answer["code"] == 501 && answer["data"] == .null)
        #expect(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)").code == 501)
    }

    @Test func withAStatusLagANewTaskIsNotFoundForThatLongThenFound() async throws {
        let h = Harness { $0.statusLag = .seconds(5) }
        let id = try #require(await h.createMarket())
        let early = try #require(await h.recordInfo(id))
        #expect(early == ["code": 404, "msg": "Task not found", "data": nil])
        await h.advance(millis: 4_999)
        #expect(await h.recordInfo(id)?["code"] == 404)
        await h.advance(millis: 1)
        #expect(await h.recordInfo(id)?["code"] == 200)
        #expect(h.simulator.snapshot().statusLagAnswers == 2)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["statusLagAnswers"])
    }

    @Test func imageModelsAnswerImageURLs() async throws {
        let h = Harness { $0.legacyPayloadRate = 0 }
        for model in ["kling-3.0/image", "google/nano-banana", "bytedance/seedream-v4-text-to-image", "flux-2/pro-image-to-image"] {
            let id = try #require(await h.createMarket(model: model))
            await h.advance(millis: 10 * 60_000)
            let record = try #require(await h.recordInfo(id))
            let result = try #require(record["data"]?["resultJson"]?.unwrappingEmbeddedJSON)
            let url = try #require(result["resultUrls"]?.arrayValue?.first?.stringValue)
            #expect(url.hasSuffix(".png") && url.contains("/images/"), "\(model)")
        }
        let video = try #require(await h.createMarket(model: "kling-2.6/image-to-video"))
        await h.advance(millis: 10 * 60_000)
        let record = try #require(await h.recordInfo(video))
        let urls = record["data"]?["resultJson"]?.unwrappingEmbeddedJSON["resultUrls"]
        #expect(urls?.arrayValue?.first?.stringValue?.hasSuffix(".mp4") == true)
    }
}
