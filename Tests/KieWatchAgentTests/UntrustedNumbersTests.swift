import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import Testing

/// Numbers from outside (headers, callback and status bodies) through the real agent: none may
/// crash it, and every delivery that carried one is still stored, answered and relayed
/// (issue 18, points 1, 2 and 4).
@Suite struct UntrustedNumbersTests {
    func post(_ router: AgentRouter, headers: HTTPHeaders = [:], body: String) async -> HTTPResponse {
        await router.handle(
            HTTPRequest(method: "POST", target: "/webhooks/kie?secret=\(AgentHarness.callbackSecret)", headers: headers,
                        body: Array(body.utf8)))
    }

    func callback(_ id: String, extra: String) -> String {
        #"{"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"\#(id)","model":"kling-2.6/text-to-video","state":"success","resultJson":"{\"resultUrls\":[\"u\"]}",\#(extra)}}"#
    }

    func metrics(_ h: AgentHarness) -> String {
        String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
    }

    /// `X-Webhook-Timestamp: 9223372036854775807` (signed with the right key, so only the
    /// timestamp check stands in the way) used to kill the agent.
    @Test func aHugeSignatureTimestampIs401AndTheAgentServesOn() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.webhookHMACKey = "hmac-key" })
        let id = try await h.createMarket()
        let body = callback(id, extra: #""completeTime":1767225600000"#)
        for timestamp in ["9223372036854775807", " +0009223372036854776", "-9223372036854775808"] {
            let signature = HMACSHA256.kieSignature(key: "hmac-key", taskId: id, timestamp: timestamp)
            let response = await post(
                h.agent.router, headers: ["X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": signature], body: body)
            #expect(response.status == 401, "\(timestamp)")
        }
        let now = String(h.clock.now() / 1000)
        let good = HMACSHA256.kieSignature(key: "hmac-key", taskId: id, timestamp: now)
        #expect(await post(h.agent.router, headers: ["X-Webhook-Timestamp": now, "X-Webhook-Signature": good], body: body).status == 200)
        try await h.agent.flush()
        let auth = try h.reader().db.rows("SELECT auth FROM webhooks ORDER BY id").compactMap { $0[0].string }
        #expect(auth == ["stale_timestamp", "stale_timestamp", "stale_timestamp", "ok"])
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
    }

    /// `completeTime` >= ~1e16 trapped in the writer (`(end - createdAt) * 1000`), and Kie
    /// retries the delivery: a crash loop. As a number or a string, it is now an absent time.
    @Test(arguments: ["10000000000000000", #""10000000000000000""#, "9223372036854775807", "1e300", #""+1e16""#])
    func aCallbackWithAHugeCompleteTimeIsStoredAnsweredAndRelayed(_ completeTime: String) async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        let response = await post(h.agent.router, body: callback(id, extra: #""completeTime":\#(completeTime),"createTime":\#(completeTime)"#))
        #expect(response.status == 200)
        let task = try #require(try h.task(id))
        #expect(task.state == .success && task.completedAt == nil && task.resultSource == .callback)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
        // The relayed body is Kie's, byte for byte.
        #expect(h.app.deliveries.first.map { String(decoding: $0.body, as: UTF8.self).contains(completeTime) } == true)
        #expect(metrics(h).contains(#"kiewatch_tasks_finished_total{model="kling-2.6/text-to-video",state="success"} 1"#))
    }

    /// The same time in a status answer passing through the proxy, and in a recovery poll.
    @Test func aStatusAnswerOrRecoveryPollWithAHugeCompleteTimeFinishesTheTask() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let polled = try await h.createMarket(callback: false)
        let recovered = try await h.createMarket()
        h.upstream.override.withLock {
            $0 = ClosureHandler { request in
                let id = request.queryItem("taskId") ?? ""
                return .json(["code": 200, "msg": "success", "data": [
                    "taskId": .string(id), "model": "kling-2.6/text-to-video", "state": "success",
                    "resultJson": #"{"resultUrls":["u"]}"#, "completeTime": "10000000000000000",
                    "createTime": .int(10_000_000_000_000_000), "costTime": .int(Int64.max),
                ]])
            }
        }
        let status = await h.agent.router.handle(
            HTTPRequest(method: "GET", target: "/api/v1/jobs/recordInfo?taskId=\(polled)", headers: ["Authorization": "Bearer k"]))
        #expect(status.status == 200)
        #expect(try h.task(polled)?.state == .success)
        #expect(try h.task(polled)?.resultSource == .proxy)

        #expect(await h.agent.sync(taskID: recovered).result == .recovered)
        let task = try #require(try h.task(recovered))
        #expect(task.state == .success && task.completedAt == nil && task.missed)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [recovered: 1])
    }

    /// `"creditsConsumed":"NaN"` became NULL in `task_rollup.credits NOT NULL` and failed its
    /// whole group commit: 49-113 valid callbacks of 1,200 got 503, and the poisoned one could
    /// never be stored. Delivered together with valid ones, every callback is now accepted and
    /// relayed; the poisoned ones keep their task result with the credits absent.
    @Test func callbacksWithUnstorableCreditsAmongValidOnesAreAllAccepted() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let poisons = [#""NaN""#, #""nan""#, "1e400", "-1e400", #""Infinity""#, #""-Infinity""#, "-3", "1e300"]
        let valid = 32
        var bodies: [(id: String, body: String)] = []
        for i in 0..<(valid + poisons.count) {
            let id = try await h.createMarket()
            let credits = i < poisons.count ? poisons[i] : "2.5"
            bodies.append((id, callback(id, extra: #""completeTime":1767225600000,"creditsConsumed":\#(credits),"remainedCredits":\#(credits)"#)))
        }
        let router = h.agent.router
        let statuses = await withTaskGroup(of: Int.self) { group in
            for (_, body) in bodies { group.addTask { await self.post(router, body: body).status } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: bodies.count))
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: bodies.map { ($0.id, 1) }))

        let reader = try h.reader()
        for (index, entry) in bodies.enumerated() {
            let task = try #require(try reader.task(id: entry.id))
            #expect(task.state == .success)
            #expect(task.creditsConsumed == (index < poisons.count ? nil : 2.5), "\(index)")
        }
        #expect(try reader.db.rows("SELECT sum(credits) FROM task_rollup") == [[.real(2.5 * Double(valid))]])
        #expect(metrics(h).contains(#"kiewatch_credits_consumed_total{model="kling-2.6/text-to-video"} 80"#))
        // The balance gauge holds one of the plausible balances (2.5 or -3), never NaN or Inf.
        let balance = metrics(h).split(separator: "\n").first { $0.hasPrefix("kiewatch_credits_remaining ") }
        #expect(balance == "kiewatch_credits_remaining 2.5" || balance == "kiewatch_credits_remaining -3")
    }
}
