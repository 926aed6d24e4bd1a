import KieWatchCore
import KieWatchTestSupport
import Testing

@Suite struct KieWireFixtureTests {
    @Test func everyFixtureParsesAsAnEnvelope() throws {
        let names = try Fixtures.allKieNames()
        #expect(names.count >= 20)
        for name in names where !name.hasPrefix("create-") || name == "create-response-ok.json" {
            let envelope = try #require(KieEnvelope(body: try Fixtures.kie(name)), "\(name)")
            #expect(envelope.code != nil, "\(name)")
            #expect(envelope.message != nil, "\(name)")
        }
    }

    @Test func createRequests() throws {
        let grok = KieWire.createRequest(try Fixtures.kieJSON("create-market-request-grok.json"), family: .market)
        #expect(grok.model == "grok-imagine/text-to-video")
        #expect(grok.callBackURL == "https://app.example/api/webhooks/kie?secret=s3cr3t")
        let sora = KieWire.createRequest(
            try Fixtures.kieJSON("create-market-request-sora2-i2v-nocallback.json"), family: .market)
        #expect(sora.model == "sora-2-image-to-video")
        #expect(sora.callBackURL == nil)
        let veo = KieWire.createRequest(try Fixtures.kieJSON("create-veo-request.json"), family: .veo)
        #expect(veo.model == "veo3_fast")
        #expect(veo.callBackURL == "https://app.example/api/webhooks/veo?secret=v3os3cr3t")
        let veoDefault = KieWire.createRequest(["prompt": "x"], family: .veo)
        #expect(veoDefault.model == "veo3")
    }

    @Test func callBackURLIsReplacedInTheBytesAndNeverAdded() throws {
        let original = try Fixtures.kie("create-market-request-kling26.json")
        let field = try #require(KieWire.callBackURLField(in: original))
        let rewritten = try JSONValue.parse(
            KieWire.replacingCallBackURL(field, in: original, with: "http://agent/webhooks/kie/t"))
        let before = try JSONValue.parse(original)
        #expect(rewritten["callBackUrl"] == "http://agent/webhooks/kie/t")
        #expect(rewritten["input"] == before["input"])
        #expect(rewritten.objectValue?.map(\.key) == before.objectValue?.map(\.key))
        let noCallback = try Fixtures.kie("create-market-request-sora2-i2v-nocallback.json")
        #expect(KieWire.callBackURLField(in: noCallback) == nil)
    }

    @Test func createAnswer() throws {
        let envelope = try #require(KieEnvelope(body: try Fixtures.kie("create-response-ok.json")))
        #expect(KieWire.createdTaskId(envelope) == "task_sora-2-pro_1765184035859")
        let refused = try #require(KieEnvelope(body: try Fixtures.kie("error-429.json")))
        #expect(KieWire.createdTaskId(refused) == nil)
        #expect(refused.code == 429)
    }

    @Test func marketRecords() throws {
        let generating = try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-generating.json")))
        let g = try KieWire.marketRecord(generating.data)
        #expect(g.taskId == "task_12345678")
        #expect(g.state == .generating)
        #expect(g.model == "sora-2-text-to-video")
        #expect(g.failCode == nil && g.failMessage == nil)  // empty strings mean none
        #expect(g.progress == 40)
        #expect(g.completedAt == nil)
        #expect(g.createdAt == 1_698_765_400_000)

        let success = try KieWire.marketRecord(try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-success.json"))).data)
        #expect(success.state == .success)
        #expect(success.resultURLs == ["https://files.example/video.mp4"])
        #expect(success.completedAt == 1_698_765_432_000)

        let fail = try KieWire.marketRecord(try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-fail.json"))).data)
        #expect(fail.state == .fail)
        #expect(fail.failCode == "500")
        #expect(fail.failMessage == "Internal server error")
        #expect(fail.resultURLs.isEmpty)

        let unknown = try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-unknown.json")))
        #expect(KieWire.isUnknownTask(unknown))
        #expect(!KieWire.isUnknownTask(generating))
    }

    @Test func veoRecords() throws {
        let g = try KieWire.veoRecord(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-generating.json"))).data)
        #expect(g.state == .generating)
        #expect(g.family == .veo)
        let s = try KieWire.veoRecord(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-success.json"))).data)
        #expect(s.state == .success)
        #expect(s.resultURLs == ["https://files.example/veo.mp4"])
        #expect(s.completedAt == 1_698_765_490_000)
        let f = try KieWire.veoRecord(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-failed.json"))).data)
        #expect(f.state == .fail)
        #expect(f.failCode == "400")
        #expect(f.failMessage == "content policy violation")
    }

    @Test func veoSuccessFlagThreeIsAFailure() throws {
        let data: JSONValue = ["taskId": "veo_x", "successFlag": 3, "response": nil]
        #expect(try KieWire.veoRecord(data).state == .fail)
        #expect(throws: KieDecodingError.self) { try KieWire.veoRecord(["taskId": "veo_x", "successFlag": 9]) }
    }

    @Test func marketCallbacks() throws {
        let success = try KieWire.marketCallback(try #require(KieEnvelope(body: try Fixtures.kie("callback-market-success.json"))))
        #expect(success.state == .success)
        #expect(success.taskId == "e989621f54392584b05867f87b160672")
        #expect(success.creditsConsumed == 100)
        #expect(success.creditsRemaining == 2_510_330)
        #expect(success.resultURLs == ["https://files.example/video.mp4"])

        let consumed = try KieWire.marketCallback(
            try #require(KieEnvelope(body: try Fixtures.kie("callback-market-success-creditsconsumed.json"))))
        #expect(consumed.creditsConsumed == 105)
        #expect(consumed.creditsRemaining == nil)
        #expect(consumed.model == "kling-2.6/text-to-video")

        let fail = try KieWire.marketCallback(try #require(KieEnvelope(body: try Fixtures.kie("callback-market-fail.json"))))
        #expect(fail.state == .fail)
        #expect(fail.failCode == "500")
        #expect(fail.creditsConsumed == 0)
    }

    @Test func veoCallbacks() throws {
        let success = try KieWire.veoCallback(try #require(KieEnvelope(body: try Fixtures.kie("callback-veo-success.json"))))
        #expect(success.state == .success)
        #expect(success.taskId == "veo_task_abc")
        #expect(success.resultURLs == ["https://files.example/veo.mp4"])
        let fail = try KieWire.veoCallback(try #require(KieEnvelope(body: try Fixtures.kie("callback-veo-fail.json"))))
        #expect(fail.state == .fail)
        #expect(fail.failCode == "422")
        #expect(fail.failMessage == "Your prompt was flagged by the content checker.")
    }

    @Test func credits() throws {
        let envelope = try #require(KieEnvelope(body: try Fixtures.kie("credit.json")))
        #expect(KieWire.creditBalance(envelope) == 2_510_330)
        #expect(KieWire.creditBalance(KieEnvelope(code: 401, message: "no")) == nil)
    }
}

@Suite struct KieWireToleranceTests {
    @Test func messageSpelledMessage() throws {
        let e = try #require(KieEnvelope(body: Array(#"{"code":455,"message":"maintenance"}"#.utf8)))
        #expect(e.code == 455 && e.message == "maintenance")
    }

    @Test func codeAsString() throws {
        let e = try #require(KieEnvelope(body: Array(#"{"code":"200","msg":"ok","data":5}"#.utf8)))
        #expect(e.code == 200)
    }

    @Test func notAnEnvelope() {
        #expect(KieEnvelope(body: Array("<html>502</html>".utf8)) == nil)
        #expect(KieEnvelope(body: [UInt8]()) == nil)
        #expect(KieEnvelope(body: Array("[1,2]".utf8)) == nil)
    }

    @Test func failCodeNullOrEmpty() throws {
        for fail: JSONValue in [nil, "", .int(0)] {
            let data: JSONValue = ["taskId": "t", "state": "waiting", "failCode": fail, "failMsg": fail]
            let r = try KieWire.marketRecord(data)
            if fail == .int(0) { #expect(r.failCode == "0") } else { #expect(r.failCode == nil) }
        }
    }

    @Test func resultJsonVariants() throws {
        func urls(_ resultJson: JSONValue) throws -> [String] {
            try KieWire.marketRecord(["taskId": "t", "state": "success", "resultJson": resultJson]).resultURLs
        }
        #expect(try urls(#"{"resultUrls":["a","b"]}"#) == ["a", "b"])
        #expect(try urls(["resultUrls": ["c"]]) == ["c"])
        #expect(try urls(#"{"resultObject":{}}"#) == [])
        #expect(try urls(nil) == [])
        #expect(try urls("") == [])
        #expect(try urls("not json") == [])
    }

    @Test func veoTimesAsEpochOrDateString() throws {
        let epoch = try KieWire.veoRecord(["taskId": "v", "successFlag": 1, "createTime": 1_698_765_400_000])
        #expect(epoch.createdAt == 1_698_765_400_000)
        let text = try KieWire.veoRecord(["taskId": "v", "successFlag": 1, "completeTime": "2023-10-31 15:16:40"])
        #expect(text.completedAt == 1_698_765_400_000)
        #expect(KieWire.parseDateTime("2026-01-01T00:00:00") == 1_767_225_600_000)
        #expect(KieWire.parseDateTime("2026-13-01 00:00:00") == nil)
        #expect(KieWire.timestamp("garbage") == nil)
        #expect(KieWire.timestamp(.int(1_698_765_400)) == 1_698_765_400_000)  // seconds
    }

    @Test func veoResultUrlsAsArrayOrJSONString() throws {
        let array = try KieWire.veoRecord(["taskId": "v", "successFlag": 1, "response": ["resultUrls": ["x"]]])
        #expect(array.resultURLs == ["x"])
        let string = try KieWire.veoRecord(["taskId": "v", "successFlag": 1, "response": ["resultUrls": #"["y","z"]"#]])
        #expect(string.resultURLs == ["y", "z"])
        let embedded = try KieWire.veoRecord(["taskId": "v", "successFlag": 1, "response": #"{"resultUrls":["w"]}"#])
        #expect(embedded.resultURLs == ["w"])
        let callback = try KieWire.veoCallback(
            KieEnvelope(code: 200, message: "ok", data: ["taskId": "v", "info": ["resultUrls": #"["q"]"#]]))
        #expect(callback.resultURLs == ["q"])
    }

    @Test func veoModelFromParamJson() throws {
        let r = try KieWire.veoRecord(["taskId": "v", "successFlag": 0, "paramJson": #"{"model":"veo3_fast"}"#])
        #expect(r.model == "veo3_fast")
    }

    @Test func creditFieldSpellings() throws {
        let new = try KieWire.marketRecord(["taskId": "t", "state": "success", "creditsConsumed": 12])
        #expect(new.creditsConsumed == 12)
        let old = try KieWire.marketRecord(["taskId": "t", "state": "success", "consumeCredits": "7", "remainedCredits": 90])
        #expect(old.creditsConsumed == 7 && old.creditsRemaining == 90)
    }

    @Test func unknownExtraFieldsIgnored() throws {
        let r = try KieWire.marketRecord(["taskId": "t", "state": "queuing", "brandNewField": ["a": [1, 2]]])
        #expect(r.state == .queuing)
    }

    @Test func marketCallbackWithoutStateTrustsTheCode() throws {
        // A market callback always carries data.state; one without is unreadable rather than guessed.
        #expect(throws: KieDecodingError.self) {
            try KieWire.marketCallback(KieEnvelope(code: 200, message: "ok", data: ["taskId": "t"]))
        }
        let fail = try KieWire.marketCallback(
            KieEnvelope(code: 501, message: "Playground task failed.", data: ["taskId": "t", "state": "fail"]))
        #expect(fail.failCode == "501" && fail.failMessage == "Playground task failed.")
    }

    @Test func hostileModelIdsAreSanitized() {
        #expect(ModelCatalogue.sanitize("sora-2\"} evil\n") == "sora-2evil")
        #expect(ModelCatalogue.sanitize("\"\n") == nil)
        #expect(ModelCatalogue.sanitize(String(repeating: "a", count: 500))?.count == 96)
    }
}

@Suite struct ClassificationTests {
    @Test func outcomeNeedsHTTP2xxAndBodyCode200() {
        #expect(CallOutcome.classify(httpStatus: 200, bodyCode: 200) == .ok)
        #expect(CallOutcome.classify(httpStatus: 200, bodyCode: 401) == .apiError)
        #expect(CallOutcome.classify(httpStatus: 200, bodyCode: nil) == .apiError)
        #expect(CallOutcome.classify(httpStatus: 502, bodyCode: 200) == .httpError)
        #expect(CallOutcome.codeLabel(outcome: .apiError, httpStatus: 200, bodyCode: 429) == "429")
        #expect(CallOutcome.codeLabel(outcome: .httpError, httpStatus: 503, bodyCode: nil) == "503")
        #expect(CallOutcome.codeLabel(outcome: .timeout, httpStatus: 504, bodyCode: 504) == "timeout")
        #expect(CallOutcome.codeLabel(outcome: .error, httpStatus: 502, bodyCode: 502) == "error")
    }

    @Test func endpoints() {
        #expect(KieEndpoint(path: "/api/v1/jobs/createTask") == .createTask)
        #expect(KieEndpoint(path: "/api/v1/jobs/recordInfo?taskId=abc") == .recordInfo)
        #expect(KieEndpoint(path: "/api/v1/veo/generate") == .veoGenerate)
        #expect(KieEndpoint(path: "/api/v1/veo/record-info?taskId=x") == .veoRecordInfo)
        #expect(KieEndpoint(path: "/api/v1/chat/credit") == .credit)
        #expect(KieEndpoint(path: "/api/file-base64-upload") == .upload)
        #expect(KieEndpoint(path: "/api/file-stream-upload") == .upload)
        #expect(KieEndpoint(path: "/api/v1/veo/get-1080p-video?taskId=x&index=0") == .other)
        #expect(KieEndpoint(path: "/api/v1/common/download-url") == .other)
        // Kie's chat APIs outside /api/: one bounded value.
        for chat in ["/claude/v1/messages", "/gpt-5-2/v1/chat/completions", "/codex/v1/responses", "/grok/v1/responses",
                     "/gemini/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse", "/gemini/v1beta/models/x", "/v1/chat/completions"] {
            #expect(KieEndpoint(path: chat) == .llm, "\(chat)")
        }
        for other in ["/", "/favicon.ico", "/video/x", "/claude/messages", "/api/v1/chat/completions", "/a/b/v1/c", "/v/1"] {
            #expect(KieEndpoint(path: other) == .other, "\(other)")
        }
    }

    @Test func states() {
        #expect(TaskState(marketState: "GENERATING") == .generating)
        #expect(TaskState(marketState: "bogus") == nil)
        #expect(TaskState(veoSuccessFlag: 0) == .generating)
        #expect(TaskState(veoSuccessFlag: 1) == .success)
        #expect(TaskState(veoSuccessFlag: 2) == .fail)
        #expect(TaskState(veoSuccessFlag: 3) == .fail)
        #expect(TaskState.created.canAdvance(to: .generating))
        #expect(!TaskState.generating.canAdvance(to: .waiting))
        #expect(!TaskState.success.canAdvance(to: .fail))
    }

    @Test func catalogue() {
        #expect(ModelCatalogue.entry(for: "veo3_fast").family == .veo)
        #expect(ModelCatalogue.entry(for: "kling-2.6/motion-control").provider == "kling")
        #expect(ModelCatalogue.entry(for: "sora-2-pro-storyboard").provider == "sora")
        #expect(ModelCatalogue.entry(for: "brand-new/model-9").provider == "brand")
        #expect(ModelCatalogue.entry(for: "brand-new/model-9").family == .market)
    }

    @Test func codeHints() {
        #expect(KieCode.lookup(402).hint == "top up credits")
        #expect(KieCode.hint(forLabel: "401") == "check KIE_API_KEY")
        #expect(KieCode.hint(forLabel: "timeout").contains("timed out"))
        #expect(KieCode.lookup(599).meaning == "server error")
    }
}
