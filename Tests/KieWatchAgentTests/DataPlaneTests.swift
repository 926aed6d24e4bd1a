import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Testing

@Suite struct ProxyTests {
    @Test func createIsRecordedAndTheCallbackIsRelayedOnce() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket()
        // The mapping is committed before the app gets its task id.
        let task = try #require(try h.task(id))
        #expect(task.model == "kling-2.6/text-to-video")
        #expect(task.callbackURL == "https://app.example/hooks/kie?secret=\(AgentHarness.appSecret)")
        #expect(task.expectsCallback)
        // Kie got the agent's URL (naming the create's callback route), never the app's.
        let param = try #require(h.simulator.task(id: id))
        let token = try #require(try h.reader().db.rows("SELECT token FROM callback_routes").first?[0].string)
        #expect(param.callBackUrl == "http://127.0.0.1:9464/webhooks/kie/\(token)?secret=\(AgentHarness.callbackSecret)")

        await h.advance(seconds: 600)
        #expect(h.app.counts() == [id: 1])
        let delivery = try #require(h.app.deliveries.first)
        #expect(delivery.url == "https://app.example/hooks/kie?secret=\(AgentHarness.appSecret)")
        #expect(delivery.json?["data"]?["state"] == "success")
        #expect(delivery.headers[SynthesizedCallbackHeader.name] == nil)
        let done = try #require(try h.task(id))
        #expect(done.state == .success)
        #expect(done.resultSource == .callback)
        #expect(done.callbacksReceived == 1)
        let counts = try h.reader().rowCounts()
        #expect(counts["api_calls"] == 1)
        #expect(counts["webhooks"] == 1)
    }

    @Test func statusAnswersMoveTasksAlongForPollingApps() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket(model: "sora-2-text-to-video", callback: false)
        #expect(try h.task(id)?.expectsCallback == false)
        await h.advance(seconds: 900)
        let response = await h.agent.router.serve(
            HTTPRequest(method: "GET", target: "/api/v1/jobs/recordInfo?taskId=\(id)", headers: ["Authorization": "Bearer k"]))
        #expect(response.status == 200)
        let task = try #require(try h.task(id))
        #expect(task.state == .success)
        #expect(task.resultSource == .proxy)
        let calls = try h.reader().db.rows("SELECT endpoint, model, task_id, outcome FROM api_calls ORDER BY id")
        #expect(calls.count == 2)
        #expect(calls[1][0].string == "record_info")
        #expect(calls[1][1].string == "sora-2-text-to-video")  // learned from the task row
        #expect(calls[1][3].string == "ok")
        #expect(h.app.deliveries.isEmpty)
    }

    /// A Veo create without `model` is Kie's default, veo3_fast; calls that name a task (query
    /// or JSON body) are recorded with the task's model; a call naming none stays `unknown`. A
    /// 4K request is a create of its own family (`veo_4k`), never an `other` call.
    @Test func callsNamingATaskAreRecordedWithItsModel() async throws {
        let h = try AgentHarness()
        let headers: HTTPHeaders = ["Authorization": "Bearer k", "Content-Type": "application/json"]
        let bare: JSONValue = ["prompt": "a city", "callBackUrl": "https://app.example/hooks/veo"]
        let created = await h.agent.router.serve(
            HTTPRequest(method: "POST", target: "/api/v1/veo/generate", headers: headers, body: bare.serializedBytes()))
        let id = try #require(KieEnvelope(body: created.body).flatMap(KieWire.createdTaskId))
        #expect(try h.task(id)?.model == "veo3_fast")
        let lite = try await h.createVeo(model: "veo3_lite")
        #expect(try h.task(lite)?.model == "veo3_lite")
        await h.advance(seconds: 600)
        _ = await h.agent.router.serve(
            HTTPRequest(method: "GET", target: "/api/v1/veo/get-1080p-video?taskId=\(lite)&index=0", headers: headers))
        let fourK: JSONValue = ["taskId": .string(id), "index": 0]
        _ = await h.agent.router.serve(
            HTTPRequest(method: "POST", target: "/api/v1/veo/get-4k-video", headers: headers, body: fourK.serializedBytes()))
        let download: JSONValue = ["url": "https://tempfile.kie-simulator.invalid/videos/x.mp4"]
        _ = await h.agent.router.serve(
            HTTPRequest(method: "POST", target: "/api/v1/common/download-url", headers: headers, body: download.serializedBytes()))
        try await h.agent.flush()
        let rows = try h.reader().db.rows("SELECT path, model, task_id FROM api_calls WHERE endpoint = 'other' ORDER BY id")
        #expect(rows.map { $0[1].string } == ["veo3_lite", nil])
        #expect(rows.map { $0[2].string } == [lite, nil])
        let fourKCalls = try h.reader().db.rows("SELECT endpoint, model FROM api_calls WHERE path LIKE '%get-4k-video%'")
        #expect(fourKCalls.map { $0[0].string } == ["veo_4k"])
        #expect(fourKCalls.map { $0[1].string } == ["veo3-4k"])
        let metrics = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(metrics.contains(#"kiewatch_api_requests_total{endpoint="other",model="veo3_lite",code="200"} 1"#))
        #expect(metrics.contains(#"kiewatch_api_requests_total{endpoint="other",model="unknown",code="200"} 1"#))
        #expect(metrics.contains(#"kiewatch_tasks_created_total{model="veo3_fast"} 1"#))
    }

    @Test func errorsInTheBodyAreRecordedAsErrors() async throws {
        let h = try AgentHarness(simulator: { $0.acceptedKeys = ["good"] })
        let response = await h.agent.router.serve(
            HTTPRequest(method: "GET", target: "/api/v1/chat/credit", headers: ["Authorization": "Bearer bad"]))
        #expect(response.status == 200)
        try await h.agent.flush()
        let row = try #require(try h.reader().db.rows("SELECT http_status, body_code, outcome, endpoint FROM api_calls").first)
        #expect(row[0].int64 == 200 && row[1].int64 == 401 && row[2].string == "api_error" && row[3].string == "credit")
        let metrics = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(metrics.contains(#"kiewatch_api_requests_total{endpoint="credit",model="unknown",code="401"} 1"#))
    }

    @Test func unreachableUpstreamGetsAKieShapedAnswer() async throws {
        let h = try AgentHarness()
        h.upstream.failure.withLock { $0 = .connectFailed(errno: 111, message: "connection refused") }
        let refused = await h.agent.router.serve(
            HTTPRequest(method: "POST", target: "/api/v1/jobs/createTask", body: Array(#"{"model":"x"}"#.utf8)))
        #expect(refused.status == 502)
        #expect(KieEnvelope(body: refused.body)?.code == 502)
        h.upstream.failure.withLock { $0 = .timeout }
        let slow = await h.agent.router.serve(HTTPRequest(method: "GET", target: "/api/v1/jobs/recordInfo?taskId=abc"))
        #expect(slow.status == 504)
        #expect(KieEnvelope(body: slow.body)?.code == 504)
        try await h.agent.flush()
        let outcomes = try h.reader().db.rows("SELECT outcome, http_status FROM api_calls ORDER BY id").map { $0[0].string ?? "" }
        #expect(outcomes == ["error", "timeout"])
        #expect(try h.reader().count(of: "tasks") == 0)
    }

    /// The proxy, the recovery poller and the credit check record their calls to Kie alike (one
    /// builder: `APICallRecord.sending`, then `answered` or `failed`); only the proxy, when
    /// Kie did not answer, records the status it answered the app with.
    @Test func everyCallToKieIsRecordedAlike() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket()
        h.upstream.failure.withLock { $0 = .timeout }
        #expect(await h.agent.router.serve(HTTPRequest(method: "GET", target: "/api/v1/chat/credit")).status == 504)
        #expect(await h.agent.checkCredits() == nil)
        #expect(await h.agent.sync(taskID: id).result == .error)
        h.upstream.failure.withLock { $0 = nil }
        #expect(await h.agent.checkCredits() != nil)
        try await h.agent.flush()
        let rows = try h.reader().db.rows("""
            SELECT endpoint, model, task_id, method, path, http_status, body_code, request_bytes, response_bytes > 0,
                   outcome, error IS NOT NULL
            FROM api_calls WHERE endpoint <> 'create_task' ORDER BY id
            """)
        let credit: [SQLValue] = [.text("credit"), .null, .null, .text("GET"), .text("/api/v1/chat/credit")]
        #expect(rows == [
            credit + [.integer(504), .integer(504), .integer(0), .integer(0), .text("timeout"), .integer(1)],
            credit + [.integer(0), .null, .integer(0), .integer(0), .text("timeout"), .integer(1)],
            [.text("record_info"), .text("kling-2.6/text-to-video"), .text(id), .text("GET"),
             .text("/api/v1/jobs/recordInfo?taskId=\(id)"), .integer(0), .null, .integer(0), .integer(0), .text("timeout"),
             .integer(1)],
            credit + [.integer(200), .integer(200), .integer(0), .integer(1), .text("ok"), .integer(0)],
        ])
    }

    @Test func theAppsAuthorizationIsForwardedButNeverStored() async throws {
        let h = try AgentHarness(simulator: { $0.acceptedKeys = ["app-key"] })
        _ = try await h.createMarket()
        await h.advance(seconds: 600)
        let stored = try h.storedText()
        #expect(!stored.contains("app-key"))
        #expect(!stored.contains(AgentHarness.appSecret))
        #expect(!stored.contains(AgentHarness.callbackSecret))
        #expect(!h.logs.all.contains(AgentHarness.appSecret))
        // Kie echoes the agent's callback URL inside `param`; the app must not receive the secret.
        #expect(h.app.deliveries.count == 1)
        #expect(h.app.deliveries.allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains(AgentHarness.callbackSecret) })
    }
}

@Suite struct WebhookTests {
    func post(_ h: AgentHarness, family: String = "kie", query: String = "?secret=\(AgentHarness.callbackSecret)",
              headers: HTTPHeaders = [:], body: String) async -> HTTPResponse {
        await h.agent.router.serve(
            HTTPRequest(method: "POST", target: "/webhooks/\(family)\(query)", headers: headers, body: Array(body.utf8)))
    }

    func marketCallback(_ id: String, state: String = "success") -> String {
        #"{"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"\#(id)","model":"kling-2.6/text-to-video","state":"\#(state)","resultJson":"{\"resultUrls\":[\"u\"]}","completeTime":1767225600000}}"#
    }

    @Test func wrongOrMissingSecretIs401AndNeverRelayed() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        #expect(await post(h, query: "?secret=wrong", body: marketCallback(id)).status == 401)
        #expect(await post(h, query: "", body: marketCallback(id)).status == 401)
        #expect(await post(h, query: "", headers: ["Authorization": "Bearer \(AgentHarness.callbackSecret)"], body: marketCallback(id)).status == 200)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
        try await h.agent.flush()
        let rows = try h.reader().db.rows("SELECT auth, result FROM webhooks ORDER BY id").map { "\($0[0].string!)/\($0[1].string!)" }
        #expect(rows == ["bad_secret/unauthorized", "missing/unauthorized", "ok/accepted"])
        #expect(!(try h.storedText()).contains("wrong"))
    }

    @Test func malformedBodiesAre400() async throws {
        let h = try AgentHarness()
        for body in ["not json", #"{"code":200,"data":{"taskId":"t""#, #"{"code":200,"data":{"state":"success"}}"#, "[]", ""] {
            #expect(await post(h, body: body).status == 400, "\(body)")
        }
        try await h.agent.flush()
        #expect(try h.reader().db.rows("SELECT count(*) FROM webhooks WHERE result = 'malformed'").first?[0].int64 == 5)
        #expect(h.app.deliveries.isEmpty)
    }

    @Test func sameCallbackThreeTimesIsRelayedOnce() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        for _ in 0..<3 { #expect(await post(h, body: marketCallback(id)).status == 200) }
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
        try await h.agent.flush()
        let results = try h.reader().db.rows("SELECT result FROM webhooks ORDER BY id").compactMap { $0[0].string }
        #expect(results == ["accepted", "duplicate", "duplicate"])
        #expect(try h.task(id)?.callbacksReceived == 3)
    }

    @Test func aCallbackThatRacesItsCreateAnswerIsAcceptedThroughItsRoute() async throws {
        // Every callback races its create answer (more in CallbackRoutingTests).
        let h = try AgentHarness(simulator: { $0.earlyCallbackRate = 1 })
        let id = try await h.createMarket()
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
        let task = try #require(try h.task(id))
        #expect(task.state.isTerminal)
        #expect(task.resultSource == .callback)
        let results = try h.reader().db.rows("SELECT result FROM webhooks").compactMap { $0[0].string }
        #expect(results == ["accepted"])
    }

    @Test func signaturesAreCheckedWhenConfigured() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.webhookHMACKey = "hmac-key" })
        let id = try await h.createMarket()
        let now = h.clock.now() / 1000
        let good = HMACSHA256.kieSignature(key: "hmac-key", taskId: id, timestamp: String(now))
        let bad = HMACSHA256.kieSignature(key: "other", taskId: id, timestamp: String(now))
        let stale = HMACSHA256.kieSignature(key: "hmac-key", taskId: id, timestamp: String(now - 3600))
        #expect(await post(h, headers: ["X-Webhook-Timestamp": String(now), "X-Webhook-Signature": bad], body: marketCallback(id)).status == 401)
        #expect(await post(h, headers: ["X-Webhook-Timestamp": String(now - 3600), "X-Webhook-Signature": stale], body: marketCallback(id)).status == 401)
        #expect(await post(h, body: marketCallback(id)).status == 401)
        #expect(await post(h, headers: ["X-Webhook-Timestamp": String(now), "X-Webhook-Signature": good], body: marketCallback(id)).status == 200)
        await h.agent.runRelayOnce()
        let delivery = try #require(h.app.deliveries.first)
        #expect(delivery.headers["X-Webhook-Signature"] == good)  // passed on to the app
        try await h.agent.flush()
        let auth = try h.reader().db.rows("SELECT auth FROM webhooks ORDER BY id").compactMap { $0[0].string }
        #expect(auth == ["bad_signature", "stale_timestamp", "missing", "ok"])
    }

    @Test func veoCallbacksAreRelayedToo() async throws {
        let h = try AgentHarness()
        let id = try await h.createVeo()
        await h.advance(seconds: 600)
        #expect(h.app.counts() == [id: 1])
        #expect(try h.task(id)?.state.isTerminal == true)
        #expect(h.app.deliveries.first?.url == "https://app.example/hooks/veo?secret=\(AgentHarness.appSecret)")
    }
}

@Suite struct RelayTests {
    @Test func anAppThatIsDownGetsEveryRelayExactlyOnceWhenItIsBack() async throws {
        // Every relay on its own schedule: the circuit breaker (RelayActionTests) stays closed.
        let h = try AgentHarness(agent: { $0.relayBreakerFailures = 1_000 })
        h.app.down.store(true, ordering: .relaxed)
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await h.createMarket()) }
        await h.advance(seconds: 900)  // all callbacks in; every relay attempt fails
        #expect(h.app.deliveries.isEmpty)
        let pending = try h.reader().db.rows("SELECT count(*), min(attempts) FROM relay_outbox WHERE state = 'pending'").first!
        #expect(pending[0].int64 == 5)
        #expect((pending[1].int64 ?? 0) >= 2)
        h.app.down.store(false, ordering: .relaxed)
        await h.advance(seconds: 3600, step: 30)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        let attempts = try h.reader().db.rows("SELECT count(*) FROM relay_attempts WHERE http_status = 200").first?[0].int64
        #expect(attempts == 5)
    }

    @Test func relaysSurviveARestart() async throws {
        let h = try AgentHarness()
        h.app.down.store(true, ordering: .relaxed)
        let id = try await h.createMarket()
        await h.advance(seconds: 600)
        try await h.restart()
        h.app.down.store(false, ordering: .relaxed)
        await h.advance(seconds: 3600, step: 60)
        #expect(h.app.counts() == [id: 1])
    }

    @Test func relaysGiveUpAfterTheLimit() async throws {
        let h = try AgentHarness(agent: { $0.relayGiveUpMillis = 10 * 60_000 })
        h.app.down.store(true, ordering: .relaxed)
        _ = try await h.createMarket()
        await h.advance(seconds: 3600, step: 30)
        let state = try h.reader().db.rows("SELECT state FROM relay_outbox").first?[0].string
        #expect(state == "gave_up")
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"kiewatch_relay_attempts_total{result="gave_up"} 1"#))
    }
}

enum SynthesizedCallbackHeader {
    static let name = "X-KieWatch-Recovered"
}
