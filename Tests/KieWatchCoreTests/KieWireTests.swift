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
        #expect(veoDefault.model == "veo3_fast")  // Kie's default
        #expect(ModelCatalogue.known.contains(ModelCatalogue.entry(for: "veo3_lite")))
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
        let g = try KieWire.record(generating.data, family: .market)
        #expect(g.taskId == "task_12345678")
        #expect(g.state == .generating)
        #expect(g.model == "sora-2-text-to-video")
        #expect(g.failCode == nil && g.failMessage == nil)  // empty strings mean none
        #expect(g.progress == 40)
        #expect(g.completedAt == nil)
        #expect(g.createdAt == 1_698_765_400_000)

        let success = try KieWire.record(try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-success.json"))).data, family: .market)
        #expect(success.state == .success)
        #expect(success.resultURLs == ["https://files.example/video.mp4"])
        #expect(success.completedAt == 1_698_765_432_000)

        let fail = try KieWire.record(try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-fail.json"))).data, family: .market)
        #expect(fail.state == .fail)
        #expect(fail.failCode == "500")
        #expect(fail.failMessage == "Internal server error")
        #expect(fail.resultURLs.isEmpty)

        let unknown = try #require(KieEnvelope(body: try Fixtures.kie("recordinfo-unknown.json")))
        #expect(KieWire.isUnknownTask(unknown))
        #expect(!KieWire.isUnknownTask(generating))
    }

    @Test func veoRecords() throws {
        let g = try KieWire.record(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-generating.json"))).data, family: .veo)
        #expect(g.state == .generating)
        #expect(g.family == .veo)
        let s = try KieWire.record(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-success.json"))).data, family: .veo)
        #expect(s.state == .success)
        #expect(s.resultURLs == ["https://files.example/veo.mp4"])
        #expect(s.completedAt == 1_698_765_490_000)
        let f = try KieWire.record(try #require(KieEnvelope(body: try Fixtures.kie("veo-recordinfo-failed.json"))).data, family: .veo)
        #expect(f.state == .fail)
        #expect(f.failCode == "400")
        #expect(f.failMessage == "content policy violation")
    }

    @Test func veoSuccessFlagThreeIsAFailure() throws {
        let data: JSONValue = ["taskId": "veo_x", "successFlag": 3, "response": nil]
        #expect(try KieWire.record(data, family: .veo).state == .fail)
        #expect(throws: KieDecodingError.self) { try KieWire.record(["taskId": "veo_x", "successFlag": 9], family: .veo) }
    }

    @Test func marketCallbacks() throws {
        let success = try KieWire.callback(try #require(KieEnvelope(body: try Fixtures.kie("callback-market-success.json"))), family: .market)
        #expect(success.state == .success)
        #expect(success.taskId == "e989621f54392584b05867f87b160672")
        #expect(success.creditsConsumed == 100)
        #expect(success.creditsRemaining == 2_510_330)
        #expect(success.resultURLs == ["https://files.example/video.mp4"])

        let consumed = try KieWire.callback(
            try #require(KieEnvelope(body: try Fixtures.kie("callback-market-success-creditsconsumed.json"))), family: .market)
        #expect(consumed.creditsConsumed == 105)
        #expect(consumed.creditsRemaining == nil)
        #expect(consumed.model == "kling-2.6/text-to-video")

        let fail = try KieWire.callback(try #require(KieEnvelope(body: try Fixtures.kie("callback-market-fail.json"))), family: .market)
        #expect(fail.state == .fail)
        #expect(fail.failCode == "500")
        #expect(fail.creditsConsumed == 0)
    }

    @Test func veoCallbacks() throws {
        let success = try KieWire.callback(try #require(KieEnvelope(body: try Fixtures.kie("callback-veo-success.json"))), family: .veo)
        #expect(success.state == .success)
        #expect(success.taskId == "veo_task_abc")
        #expect(success.resultURLs == ["https://files.example/veo.mp4"])
        let fail = try KieWire.callback(try #require(KieEnvelope(body: try Fixtures.kie("callback-veo-fail.json"))), family: .veo)
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

    /// Null, empty and `0` (Aleph's `errorCode` on success) are no failure code; a task that
    /// has not failed has none whatever its record carries.
    @Test func failCodeNullOrEmpty() throws {
        for fail: JSONValue in [nil, "", .int(0), "0"] {
            let failed = try KieWire.record(["taskId": "t", "state": "fail", "failCode": fail, "failMsg": ""], family: .market)
            #expect(failed.failCode == nil && failed.failMessage == nil)
        }
        #expect(try KieWire.record(["taskId": "t", "state": "fail", "failMsg": nil], family: .market).failMessage == nil)
        let running = try KieWire.record(["taskId": "t", "state": "waiting", "failCode": "500", "failMsg": "x"], family: .market)
        #expect(running.failCode == nil && running.failMessage == nil)
        let failed = try KieWire.record(["taskId": "t", "state": "fail", "failCode": 500, "failMsg": "x"], family: .market)
        #expect(failed.failCode == "500" && failed.failMessage == "x")
    }

    @Test func resultJsonVariants() throws {
        func urls(_ resultJson: JSONValue) throws -> [String] {
            try KieWire.record(["taskId": "t", "state": "success", "resultJson": resultJson], family: .market).resultURLs
        }
        #expect(try urls(#"{"resultUrls":["a","b"]}"#) == ["a", "b"])
        #expect(try urls(["resultUrls": ["c"]]) == ["c"])
        #expect(try urls(#"{"resultObject":{}}"#) == [])
        #expect(try urls(nil) == [])
        #expect(try urls("") == [])
        #expect(try urls("not json") == [])
    }

    @Test func veoTimesAsEpochOrDateString() throws {
        let epoch = try KieWire.record(["taskId": "v", "successFlag": 1, "createTime": 1_698_765_400_000], family: .veo)
        #expect(epoch.createdAt == 1_698_765_400_000)
        let text = try KieWire.record(["taskId": "v", "successFlag": 1, "completeTime": "2023-10-31 15:16:40"], family: .veo)
        #expect(text.completedAt == 1_698_765_400_000)
        #expect(KieWire.parseDateTime("2026-01-01T00:00:00") == 1_767_225_600_000)
        #expect(KieWire.parseDateTime("2026-13-01 00:00:00") == nil)
        #expect(KieWire.timestamp("garbage") == nil)
        #expect(KieWire.timestamp(.int(1_698_765_400)) == 1_698_765_400_000)  // seconds
    }

    @Test func veoResultUrlsAsArrayOrJSONString() throws {
        let array = try KieWire.record(["taskId": "v", "successFlag": 1, "response": ["resultUrls": ["x"]]], family: .veo)
        #expect(array.resultURLs == ["x"])
        let string = try KieWire.record(["taskId": "v", "successFlag": 1, "response": ["resultUrls": #"["y","z"]"#]], family: .veo)
        #expect(string.resultURLs == ["y", "z"])
        let embedded = try KieWire.record(["taskId": "v", "successFlag": 1, "response": #"{"resultUrls":["w"]}"#], family: .veo)
        #expect(embedded.resultURLs == ["w"])
        let callback = try KieWire.callback(
            KieEnvelope(code: 200, message: "ok", data: ["taskId": "v", "info": ["resultUrls": #"["q"]"#]]), family: .veo)
        #expect(callback.resultURLs == ["q"])
    }

    @Test func veoModelFromParamJson() throws {
        let r = try KieWire.record(["taskId": "v", "successFlag": 0, "paramJson": #"{"model":"veo3_fast"}"#], family: .veo)
        #expect(r.model == "veo3_fast")
    }

    @Test func creditFieldSpellings() throws {
        let new = try KieWire.record(["taskId": "t", "state": "success", "creditsConsumed": 12], family: .market)
        #expect(new.creditsConsumed == 12)
        let old = try KieWire.record(["taskId": "t", "state": "success", "consumeCredits": "7", "remainedCredits": 90], family: .market)
        #expect(old.creditsConsumed == 7 && old.creditsRemaining == 90)
    }

    @Test func unknownExtraFieldsIgnored() throws {
        let r = try KieWire.record(["taskId": "t", "state": "queuing", "brandNewField": ["a": [1, 2]]], family: .market)
        #expect(r.state == .queuing)
    }

    @Test func marketCallbackWithoutStateTrustsTheCode() throws {
        // A market callback always carries data.state; one without is unreadable rather than guessed.
        #expect(throws: KieDecodingError.self) {
            try KieWire.callback(KieEnvelope(code: 200, message: "ok", data: ["taskId": "t"]), family: .market)
        }
        let fail = try KieWire.callback(
            KieEnvelope(code: 501, message: "Playground task failed.", data: ["taskId": "t", "state": "fail"]), family: .market)
        #expect(fail.failCode == "501" && fail.failMessage == "Playground task failed.")
    }

    @Test func hostileModelIdsAreSanitized() {
        #expect(ModelCatalogue.sanitize("sora-2\"} evil\n") == "sora-2evil")
        #expect(ModelCatalogue.sanitize("\"\n") == nil)
        #expect(ModelCatalogue.sanitize(String(repeating: "a", count: 500))?.count == 96)
    }
}

/// Numbers from Kie come out of the decoders only inside `TaskReport`'s ranges: anything else
/// is absent, never a value that traps in arithmetic or fails a NOT NULL column downstream.
@Suite struct KieWireRangeTests {
    /// ~1e16 ms and beyond (the issue's crash loop), however spelled, are not times.
    @Test(arguments: [
        JSONValue.int(10_000_000_000_000_000), .string("10000000000000000"), .double(1e16), .string(" 1e16 "),
        .int(Int64.max), .string("9223372036854775807"), .string("+9223372036854775807"), .double(9.2e18),
        .double(.infinity), .string("99999-01-01 00:00:00"), .string("2026-01-01 99999999999999999999:00:00"),
        .int(253_402_300_800_000),
    ])
    func timesOutsideThePlausibleWindowAreAbsent(_ value: JSONValue) throws {
        #expect(KieWire.timestamp(value) == nil)
        let market = try KieWire.record(["taskId": "t", "state": "success", "completeTime": value, "createTime": value], family: .market)
        #expect(market.completedAt == nil && market.createdAt == nil)
        let veo = try KieWire.record(["taskId": "v", "successFlag": 1, "completeTime": value], family: .veo)
        #expect(veo.completedAt == nil)
    }

    @Test func theWindowEdgesAreKept() {
        #expect(KieWire.timestamp(.int(253_402_300_799_999)) == 253_402_300_799_999)
        #expect(KieWire.timestamp("9999-12-31 23:59:59") == 253_402_300_799_000)
        #expect(KieWire.timestamp("1970-01-01 00:00:00") == 0)
        #expect(KieWire.timestamp("1767225600000") == 1_767_225_600_000)
        #expect(KieWire.timestamp(.double(1_767_225_600)) == 1_767_225_600_000)
        #expect(TaskReport.plausibleTimes.contains(KieWire.timestamp(.int(99_999_999_999))!))
    }

    /// NaN and infinities arrive as strings (`"NaN"`) or as numbers beyond Double (`1e400`).
    @Test(arguments: [
        #""NaN""#, #""nan""#, #""Infinity""#, #""-inf""#, "1e400", "-1e400", "-5", #""-0.5""#, "1e16", #""abc""#,
    ])
    func creditsThatAreNotAPlausibleAmountAreAbsent(_ literal: String) throws {
        let data = try JSONValue.parse(#"{"taskId":"t","state":"success","creditsConsumed":\#(literal),"remainedCredits":\#(literal)}"#)
        let report = try KieWire.record(data, family: .market)
        #expect(report.creditsConsumed == nil)
        if literal != "-5" && literal != #""-0.5""# {  // a negative balance is a balance
            #expect(report.creditsRemaining == nil)
        }
        let legacy = try KieWire.record(try JSONValue.parse(#"{"taskId":"t","state":"fail","consumeCredits":\#(literal)}"#), family: .market)
        #expect(legacy.creditsConsumed == nil)
        let balance = KieEnvelope(code: 200, message: "success", data: try JSONValue.parse(literal))
        if literal != "-5" && literal != #""-0.5""# {
            #expect(KieWire.creditBalance(balance) == nil)
        }
    }

    @Test func plausibleCreditsAndProgressPassThrough() throws {
        let r = try KieWire.record(["taskId": "t", "state": "success", "creditsConsumed": "12.5", "remainedCredits": -3, "progress": 100], family: .market)
        #expect(r.creditsConsumed == 12.5 && r.creditsRemaining == -3 && r.progress == 100)
        #expect(KieWire.creditBalance(KieEnvelope(code: 200, message: "ok", data: 1_000_000)) == 1_000_000)
        for progress: JSONValue in [101, -1, .int(Int64.max), "1e300"] {
            #expect(try KieWire.record(["taskId": "t", "state": "generating", "progress": progress], family: .market).progress == nil)
        }
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
        let market = TaskFamily.market.states[0]
        let flag = TaskFamily.veo.states[0]
        #expect(market.meaning(of: "GENERATING") == .state(.generating))
        #expect(market.meaning(of: "bogus") == nil)
        #expect(flag.meaning(of: 0) == .state(.generating))
        #expect(flag.meaning(of: 1) == .state(.success))
        #expect(flag.meaning(of: 2) == .state(.fail))
        #expect(flag.meaning(of: "3") == .state(.fail))
        #expect(TaskState.created.canAdvance(to: .generating))
        #expect(!TaskState.generating.canAdvance(to: .waiting))
        #expect(!TaskState.success.canAdvance(to: .fail))
    }

    @Test func catalogue() {
        #expect(ModelCatalogue.entry(for: "kling-2.6/motion-control").provider == "kling")
        #expect(ModelCatalogue.entry(for: "sora-2-pro-storyboard").provider == "sora")
        #expect(ModelCatalogue.entry(for: "brand-new/model-9").provider == "brand")
    }

    @Test func codeHints() {
        #expect(KieCode.lookup(402).hint == "top up credits")
        #expect(KieCode.hint(forLabel: "401") == "check KIE_API_KEY")
        #expect(KieCode.hint(forLabel: "timeout").contains("timed out"))
        #expect(KieCode.lookup(599).meaning == "server error")
    }
}

@Suite struct KieWireStatusAnswerTests {
    func answer(_ json: JSONValue, http: Int = 200, family: TaskFamily = .market, taskId: String? = "t1")
        -> KieWire.StatusAnswer
    {
        KieWire.statusAnswer(KieEnvelope(json: json)!, httpStatus: http, family: family, taskId: taskId)
    }

    @Test(arguments: [TaskFamily.market, .veo])
    func codes501And408AreTerminalFailuresOfTheQueriedTask(family: TaskFamily) throws {
        for (code, msg) in [(501, "Generation failed"), (408, "No result for over 10 minutes")] {
            let report = try #require(
                answer(["code": .int(Int64(code)), "msg": .string(msg), "data": nil], family: family).report)
            #expect(report.taskId == "t1" && report.family == family)
            #expect(report.state == .fail)
            #expect(report.failCode == String(code) && report.failMessage == msg)
        }
        // Kie's message may be empty: the code's meaning stands in.
        let bare = try #require(answer(["code": 501, "msg": "", "data": nil], family: family).report)
        #expect(bare.failMessage == "generation failed")
        let bare408 = try #require(answer(["code": 408, "data": nil], family: family).report)
        #expect(bare408.failMessage?.hasPrefix("no result for over 10 minutes") == true)
        // Without a task id there is nothing to conclude about.
        #expect(answer(["code": 501, "msg": "x", "data": nil], family: family, taskId: nil) == .error("code 501 for no task id: x"))
    }

    @Test func aRecordBeside501IsKeptButTheCodeDecidesTheState() throws {
        let record = try Fixtures.kieJSON("recordinfo-generating.json")["data"]
        let report = try #require(answer(["code": 501, "msg": "failed", "data": record ?? nil], taskId: nil).report)
        #expect(report.taskId == "task_12345678" && report.model == "sora-2-text-to-video")
        #expect(report.state == .fail && report.failCode == "501" && report.failMessage == "failed")
    }

    @Test func recordsUnknownTasksAndErrors() throws {
        let generating = try Fixtures.kieJSON("recordinfo-generating.json")
        #expect(answer(generating).report?.state == .generating)
        #expect(answer(try Fixtures.kieJSON("recordinfo-unknown.json")) == .unknownTask)
        #expect(answer(["code": 404, "msg": "Task not found", "data": nil]) == .unknownTask)
        #expect(answer(["code": 500, "msg": "Server exception", "data": nil]) == .error("code 500: Server exception"))
        #expect(answer(["code": 455, "msg": "Maintenance"]) == .error("code 455: Maintenance"))
        #expect(answer(generating, http: 502) == .error("HTTP 502 with body code 200"))
        #expect(answer(["msg": "no code"]) == .error("HTTP 200, no body code"))
        if case .error(let message) = answer(["code": 200, "msg": "success", "data": ["taskId": "t1"]]) {
            #expect(message.hasPrefix("unreadable status answer"))
        } else {
            Issue.record("a record without a state is not a report")
        }
    }

    @Test func aNonCreateCallNamesItsTaskInTheQueryOrAJSONBody() {
        #expect(KieWire.referencedTaskId(queryTaskId: "q1", body: Array(#"{"taskId":"b1"}"#.utf8)) == "q1")
        #expect(KieWire.referencedTaskId(queryTaskId: nil, body: Array(#"  {"taskId":"b1","index":0}"#.utf8)) == "b1")
        #expect(KieWire.referencedTaskId(queryTaskId: "", body: Array(#"{"url":"u"}"#.utf8)) == nil)
        #expect(KieWire.referencedTaskId(queryTaskId: nil, body: Array("--boundary".utf8)) == nil)
        let big = Array(#"{"taskId":"b1","pad":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: KieWire.maxTaskIdBodyBytes)
            + Array(#""}"#.utf8)
        #expect(KieWire.referencedTaskId(queryTaskId: nil, body: big) == nil)
    }
}
