import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

@Suite struct KieSimulatorVeoTests {
    @Test func generateAnswersAVeoTaskId() async throws {
        let h = Harness()
        let answer = try #require(
            await h.request(
                "POST", "/api/v1/veo/generate",
                body: #"{"prompt":"city","model":"veo3","aspect_ratio":"9:16","mode":"TEXT_2_VIDEO"}"#
            ).json)
        #expect(shapeMismatches(answer, try KieFixtures.createResponseOK).isEmpty)
        let id = try #require(answer["data"]?["taskId"]?.stringValue)
        #expect(id.hasPrefix("veo_task_") && id.count == "veo_task_".count + 12)
        #expect(h.simulator.snapshot().tasksCreated == ["veo3": 1])
    }

    @Test func recordInfoGoesFromSuccessFlag0To1() async throws {
        let h = Harness { $0.legacyPayloadRate = 0 }
        let id = try #require(await h.createVeo())
        let task = try #require(h.simulator.task(id: id))
        for instant in [task.createTime, task.queuingAt, task.generatingAt, task.completeAt - 1] {
            h.clock.set(instant)
            let running = try #require(await h.veoRecordInfo(id))
            #expect(running["data"]?["successFlag"] == 0)
            #expect(shapeMismatches(running, try KieFixtures.veoRecordInfoGenerating).isEmpty)
        }
        h.clock.set(task.completeAt)
        let done = try #require(await h.veoRecordInfo(id))
        #expect(shapeMismatches(done, try KieFixtures.veoRecordInfoSuccess).isEmpty)
        let data = try #require(done["data"])
        #expect(data["successFlag"] == 1)
        #expect(data["completeTime"]?.intValue == task.completeAt)
        #expect(data["response"]?["resolution"] == "1080p")
        #expect(data["response"]?["resultUrls"]?.arrayValue?.count == 1)
        #expect(data["paramJson"]?.unwrappingEmbeddedJSON["prompt"] == "a city at dawn")
        // Veo takes 40-150 s typically.
        #expect(task.completeAt - task.generatingAt >= 20_000)
    }

    @Test func successCallbackHasInfoAndFallbackFlag() async throws {
        let h = Harness()
        let id = try #require(await h.createVeo(aspectRatio: "9:16"))
        await h.advance(millis: 3_600_000)
        let body = try #require(h.sender.received.first?.json)
        #expect(shapeMismatches(body, try KieFixtures.callbackVeoSuccess).isEmpty)
        #expect(body["code"] == 200 && body["msg"] == "Veo3 video generated successfully.")
        #expect(body["data"]?["taskId"]?.stringValue == id)
        #expect(body["data"]?["info"]?["resolution"] == "720p")
        #expect(body["data"]?["fallbackFlag"] == false)
    }

    @Test func failureUsesErrorCodesAndSuccessFlag2Or3() async throws {
        let h = Harness {
            $0.failureRate = 1
            $0.rateLimit = nil
        }
        var ids: [String] = []
        for _ in 0..<40 { ids.append(try #require(await h.createVeo())) }
        await h.advance(millis: 3_600_000)
        var codes: Set<Int64> = []
        for id in ids {
            let data = try #require(await h.veoRecordInfo(id)?["data"])
            let flag = try #require(data["successFlag"]?.intValue)
            let code = try #require(data["errorCode"]?.intValue)
            #expect(flag == (code == 501 ? 3 : 2))
            #expect(data["response"] == .null)
            #expect(data["errorMessage"]?.nonEmptyString != nil)
            codes.insert(code)
        }
        #expect(codes == [400, 422, 500, 501])
        for post in h.sender.received {
            let body = try #require(post.json)
            #expect(shapeMismatches(body, try KieFixtures.callbackVeoFail).isEmpty)
            #expect([400, 422, 500, 501].contains(body["code"]?.intValue ?? 0))
            #expect(body["data"]?["fallbackFlag"] == false)
        }
    }

    @Test func legacyRecordsUseDateStringsAndEncodedResultUrls() async throws {
        let h = Harness { $0.legacyPayloadRate = 1 }
        let id = try #require(await h.createVeo())
        await h.advance(millis: 3_600_000)
        let data = try #require(await h.veoRecordInfo(id)?["data"])
        // TestClock starts at 2026-01-01T00:00:00Z.
        #expect(data["createTime"] == "2026-01-01 00:00:00")
        #expect(data["completeTime"]?.stringValue?.hasPrefix("2026-01-01 00:0") == true)
        #expect(data["response"]?["resultUrls"]?.unwrappingEmbeddedJSON.arrayValue?.count == 1)
        #expect(data["response"]?["resultUrls"]?.arrayValue == nil)
    }

    @Test func squareAspectRatioIsARatioError() async throws {
        let h = Harness()
        for body in [#"{"prompt":"x","aspectRatio":"1:1"}"#, #"{"prompt":"x","aspect_ratio":"1:1"}"#] {
            let answer = await h.request("POST", "/api/v1/veo/generate", body: body)
            #expect(answer.status == 200)
            let json = try #require(answer.json)
            #expect(json["code"] == 422 && json["msg"] == "Ratio error")
            #expect(shapeMismatches(json, try KieFixtures.error422Ratio).isEmpty)
        }
        #expect(h.simulator.snapshot().tasksCreatedTotal == 0)
    }

    @Test(arguments: [
        #"{"model":"veo3"}"#, #"{"prompt":""}"#, #"{"prompt":"x","model":"veo2"}"#,
        #"{"prompt":"x","generationType":"IMAGE_2_MUSIC"}"#,
    ])
    func invalidGeneratesAre422(body: String) async {
        let h = Harness()
        #expect(await h.request("POST", "/api/v1/veo/generate", body: body).code == 422)
    }

    @Test func unknownTaskIdIs422RecordInfoIsNull() async throws {
        let h = Harness()
        #expect(try await h.veoRecordInfo("veo_task_000000000000") == KieFixtures.recordInfoUnknown)
        let market = try #require(await h.createMarket())
        #expect(try await h.veoRecordInfo(market) == KieFixtures.recordInfoUnknown)
    }
}

@Suite struct KieSimulatorVeoExtrasTests {
    @Test func veo3LiteIsAcceptedAndTheDefaultModelIsVeo3Fast() async throws {
        let h = Harness()
        let lite = await h.request("POST", "/api/v1/veo/generate", body: #"{"prompt":"x","model":"veo3_lite"}"#)
        #expect(lite.code == 200)
        let plain = await h.request("POST", "/api/v1/veo/generate", body: #"{"prompt":"x"}"#)
        #expect(plain.code == 200)
        #expect(h.simulator.snapshot().tasksCreated == ["veo3_lite": 1, "veo3_fast": 1])
    }

    @Test func the1080pVideoIsProcessingUntilTheTaskSucceedsThenItsURL() async throws {
        let h = Harness()
        let id = try #require(await h.createVeo())
        let running = await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)&index=0")
        #expect(running.code == 400)
        await h.advance(millis: 30 * 60_000)
        let done = try #require(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)&index=0").json)
        #expect(done["code"] == 200)
        #expect(done["data"]?["resultUrl"]?.stringValue?.hasSuffix("\(id)-1080p.mp4") == true)
        #expect(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)&index=x").code == 422)
        #expect(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=veo_task_unknown").code == 422)
        #expect(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)", key: nil).code == 401)
    }

    @Test func aFailedTaskHasNo1080pVideo() async throws {
        let h = Harness { $0.failureRate = 1 }
        let id = try #require(await h.createVeo())
        await h.advance(millis: 30 * 60_000)
        #expect(await h.request("GET", "/api/v1/veo/get-1080p-video?taskId=\(id)").code == 422)
    }
}
