import Foundation
import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

/// The create -> callback mapping: a route (token -> the app's URL) committed before the create
/// reaches Kie, and callbacks attributed by the URL the agent gave Kie.
@Suite struct CallbackRoutingTests {
    static let appURL = "https://app.example/hooks/kie?secret=\(AgentHarness.appSecret)"
    static let model = "kling-2.6/text-to-video"

    func routes(_ h: AgentHarness) throws -> [[SQLValue]] {
        try h.reader().db.rows("SELECT token, family, model, callback_url, task_id FROM callback_routes ORDER BY family, token")
    }

    func metrics(_ h: AgentHarness) -> String {
        String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
    }

    func post(_ h: AgentHarness, _ target: String, body: String) async -> HTTPResponse {
        await h.agent.router.handle(
            HTTPRequest(method: "POST", target: target, headers: ["Authorization": "Bearer app-key"], body: Array(body.utf8)))
    }

    func marketCallback(_ id: String) -> String {
        #"{"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"\#(id)","model":"\#(Self.model)","state":"success","resultJson":"{\"resultUrls\":[\"u\"]}","completeTime":1767225600000}}"#
    }

    // MARK: The URL Kie gets

    @Test func kieGetsTheRouteURLWithTheAgentSecretAndNeverTheAppsURL() async throws {
        let h = try AgentHarness()
        let market = try await h.createMarket()
        let veo = try await h.createVeo()
        let rows = try routes(h)
        #expect(rows.count == 2)
        for (row, id, family, path) in [(rows[0], market, "market", "kie"), (rows[1], veo, "veo", "veo")] {
            let token = try #require(row[0].string)
            #expect(token.count == 32 && token.allSatisfy(\.isHexDigit))
            #expect(row[1].string == family)
            #expect(row[4].string == id, "the create answer binds the route to the task")
            let sent = try #require(h.simulator.task(id: id))
            #expect(sent.callBackUrl == "http://127.0.0.1:9464/webhooks/\(path)/\(token)?secret=\(AgentHarness.callbackSecret)")
            let request = sent.request.serialized()
            #expect(!request.contains("app.example") && !request.contains(AgentHarness.appSecret))
        }
        #expect(rows[0][0] != rows[1][0])
        #expect(rows[0][3].string == Self.appURL)
        #expect(rows[0][2].string == Self.model)
        #expect(rows[1][3].string == "https://app.example/hooks/veo?secret=\(AgentHarness.appSecret)")
        // The task row is stored as before; the callback goes through the route.
        #expect(try h.task(market)?.callbackURL == Self.appURL)
        await h.advance(seconds: 600)
        #expect(h.app.counts() == [market: 1, veo: 1])
        let results = try h.reader().db.rows("SELECT result FROM webhooks").compactMap { $0[0].string }
        #expect(results == ["accepted", "accepted"])
    }

    @Test func aCreateWithoutACallbackURLGetsNoRouteAndNoCallbackURL() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket(callback: false)
        #expect(try routes(h).isEmpty)
        #expect(h.simulator.task(id: id)?.callBackUrl == nil)
        #expect(try h.task(id)?.expectsCallback == false)
    }

    // MARK: Durable before forwarding (issue 18.5)

    @Test func aCreateWhoseRouteCannotBeStoredGets503AndNeverReachesKie() async throws {
        let h = try AgentHarness()
        try h.failInserts(into: "callback_routes")
        let body = #"{"model":"\#(Self.model)","callBackUrl":"\#(Self.appURL)","input":{"prompt":"p"}}"#
        let refused = await post(h, "/api/v1/jobs/createTask", body: body)
        #expect(refused.status == 503)
        let envelope = try #require(KieEnvelope(body: refused.body))
        #expect(envelope.code == 503)
        #expect(envelope.message?.hasPrefix("kiewatch: ") == true)
        #expect(h.upstream.seen.withLock { $0 }.isEmpty, "Kie never saw the create: nothing billed")
        #expect(h.simulator.snapshot().tasksCreated.isEmpty)
        let text = metrics(h)
        #expect(text.contains(#"kiewatch_api_requests_total{endpoint="create_task",model="\#(Self.model)",code="error"} 1"#))
        #expect(text.contains("kiewatch_store_errors_total 1"))
        #expect(!h.logs.all.contains(AgentHarness.appSecret))

        // A create that needs no route is not held up; once the store heals, creates go through.
        _ = try await h.createMarket(callback: false)
        try h.heal("callback_routes")
        let id = try await h.createMarket()
        #expect(h.upstream.seen.withLock { $0 }.count == 2)
        #expect(try routes(h).count == 1 && routes(h)[0][4].string == id)
    }

    /// A callBackUrl the relay could never call is refused at create, in Kie's validation shape,
    /// and never forwarded: the app learns now, not after a day of silent retries (issue 18.6).
    @Test func aCreateWhoseCallbackURLCannotEverBeDeliveredIsRefusedAndNeverReachesKie() async throws {
        let h = try AgentHarness()
        for url in ["ftp://app.example/cb", "http://app example/cb", "http://a:b:c@/cb", "/relative/cb"] {
            let body = #"{"model":"\#(Self.model)","callBackUrl":"\#(url)","input":{"prompt":"p"}}"#
            let refused = await post(h, "/api/v1/jobs/createTask", body: body)
            #expect(refused.status == 200, "Kie answers validation errors with HTTP 200")
            let envelope = try #require(KieEnvelope(body: refused.body))
            #expect(envelope.code == 422, "\(url)")
            #expect(envelope.message?.hasPrefix("kiewatch: callBackUrl") == true)
        }
        #expect(h.upstream.seen.withLock { $0 }.isEmpty, "Kie never saw the creates: nothing billed")
        #expect(try routes(h).isEmpty)
        #expect(metrics(h).contains(#"kiewatch_api_requests_total{endpoint="create_task",model="\#(Self.model)",code="422"} 4"#))
        // A URL with user info is deliverable (Basic auth): it goes through.
        _ = try await h.createMarket(callbackURL: "https://user:pass@app.example/cb")
        #expect(h.upstream.seen.withLock { $0 }.count == 1)
    }

    /// The create reached Kie but its answer was never stored (a full disk then, or a kill -9
    /// between forwarding and storing): the app has its task id, and the callback still
    /// reaches it through the route.
    @Test func aCallbackWhoseCreateAnswerWasNeverStoredStillReachesTheApp() async throws {
        let h = try AgentHarness()
        try h.failInserts(into: "tasks")
        let id = try await h.createMarket()
        #expect(try h.task(id) == nil)
        #expect(try routes(h).first?[4] == .null)
        try h.heal("tasks")

        await h.advance(seconds: 600)
        #expect(h.app.counts() == [id: 1])
        #expect(h.app.deliveries.first?.url == Self.appURL)
        let task = try #require(try h.task(id))
        #expect(task.callbackURL == Self.appURL)
        #expect(task.model == Self.model)
        #expect(task.resultSource == .callback)
        #expect(task.state == .success)
        #expect(try routes(h).first?[4].string == id)
        let results = try h.reader().db.rows("SELECT result FROM webhooks").compactMap { $0[0].string }
        #expect(results == ["accepted"])
        let text = metrics(h)
        #expect(text.contains(#"kiewatch_tasks_created_total{model="\#(Self.model)"} 1"#))
        #expect(text.contains(#"kiewatch_webhooks_received_total{model="\#(Self.model)",result="accepted"} 1"#))
    }

    // MARK: Early callbacks, counted once (issue 18.9)

    @Test func anEarlyCallbackIsAcceptedOnceAndEveryCountAgreesAcrossARestart() async throws {
        // Every callback is delivered (to the route's URL) before the create answer.
        let h = try AgentHarness(simulator: { $0.earlyCallbackRate = 1 })
        let id = try await h.createMarket()
        #expect(h.simulator.snapshot().callbacksEarly == 1)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])

        let task = try #require(try h.task(id))
        #expect(task.state == .success)
        #expect(task.resultSource == .callback)
        #expect(task.callbacksReceived == 1)
        #expect(task.callbackURL == Self.appURL)
        try await h.agent.flush()
        let reader = try h.reader()
        #expect(try reader.db.rows("SELECT result, task_id FROM webhooks") == [[.text("accepted"), .text(id)]])
        #expect(try reader.db.rows("SELECT endpoint, task_id FROM api_calls") == [[.text("create_task"), .text(id)]])
        #expect(try reader.db.rows("SELECT result, sum(deliveries) FROM webhook_rollup GROUP BY result")
            == [[.text("accepted"), .integer(1)]])
        #expect(try reader.db.rows("SELECT sum(created), sum(finished_success) FROM task_rollup")
            == [[.integer(1), .integer(1)]])

        let expected = [
            #"kiewatch_webhooks_received_total{model="\#(Self.model)",result="accepted"} 1"#,
            #"kiewatch_tasks_created_total{model="\#(Self.model)"} 1"#,
            #"kiewatch_tasks_finished_total{model="\#(Self.model)",state="success"} 1"#,
        ]
        for text in [metrics(h), try await restarted(h)] {
            for line in expected { #expect(text.contains(line), "\(line)") }
            #expect(!text.contains(#"result="unknown_task""#))
        }
        await h.advance(seconds: 600)
        #expect(h.app.counts() == [id: 1])
    }

    private func restarted(_ h: AgentHarness) async throws -> String {
        try await h.restart()
        return metrics(h)
    }

    // MARK: Tokens

    @Test func tokensAreMatchedByTheURLAndUnknownOnesByTheTaskId() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        let token = try #require(try routes(h).first?[0].string)
        let secret = "?secret=\(AgentHarness.callbackSecret)"

        // The route's token, but the body names another task: not this route's, unknown.
        #expect(await post(h, "/webhooks/kie/\(token)\(secret)", body: marketCallback("other")).status == 200)
        // A token nobody issued: matched by the task id, as on the token-less path.
        let unknownToken = String(repeating: "ab", count: 16)
        #expect(await post(h, "/webhooks/kie/\(unknownToken)\(secret)", body: marketCallback("never-created")).status == 200)
        #expect(await post(h, "/webhooks/kie/\(unknownToken)\(secret)", body: marketCallback(id)).status == 200)
        // The route's own URL for its task: a duplicate now.
        #expect(await post(h, "/webhooks/kie/\(token)\(secret)", body: marketCallback(id)).status == 200)
        // Still authenticated, as every webhook path.
        #expect(await post(h, "/webhooks/kie/\(token)?secret=wrong", body: marketCallback(id)).status == 401)
        // Not a token: no such path.
        for bad in ["/webhooks/kie/", "/webhooks/kie/a.b", "/webhooks/kie/\(String(repeating: "a", count: 65))",
                    "/webhooks/kie/\(token)/x", "/webhooks/kiex"] {
            #expect(await post(h, bad + secret, body: marketCallback(id)).status == 404, "\(bad)")
        }
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 1])
        try await h.agent.flush()
        let rows = try h.reader().db.rows("SELECT task_id, result FROM webhooks ORDER BY id").map {
            "\($0[0].string ?? "-")/\($0[1].string ?? "-")"
        }
        #expect(rows == ["other/unknown_task", "never-created/unknown_task", "\(id)/accepted", "\(id)/duplicate", "-/unauthorized"])
        #expect(try routes(h).first?[4].string == id, "a stray body does not rebind the route")
    }

    @Test func aRefusedCreateDropsItsRouteAnUnansweredOneKeepsIt() async throws {
        let h = try AgentHarness()
        // Kie refuses (422 in the body): no task, no callback, no route left.
        let refused = await post(h, "/api/v1/jobs/createTask", body: #"{"model":"\#(Self.model)","callBackUrl":"\#(Self.appURL)","input":{}}"#)
        #expect(KieEnvelope(body: refused.body)?.code == 422)
        #expect(try routes(h).isEmpty)
        try await h.agent.flush()
        #expect(try h.reader().db.rows("SELECT body_code FROM api_calls") == [[.integer(422)]])
        // Unreachable: the create may have reached Kie, so its callbacks could still come.
        h.upstream.failure.withLock { $0 = .timeout }
        let timedOut = await post(h, "/api/v1/jobs/createTask", body: #"{"model":"\#(Self.model)","callBackUrl":"\#(Self.appURL)","input":{"prompt":"p"}}"#)
        #expect(timedOut.status == 504)
        #expect(try routes(h).count == 1)
    }

    // MARK: Token-less paths (tasks created before routes)

    @Test func theOldPathsStillServeATaskStoredWithoutARoute() async throws {
        let h = try AgentHarness()
        let appVeo = "https://app.example/hooks/veo?secret=\(AgentHarness.appSecret)"
        let db = try Database(path: h.database.path, mode: .readWrite)
        for (id, family, url) in [("legacy-1", "market", Self.appURL), ("legacy-2", "veo", appVeo)] {
            _ = try db.execute(
                """
                INSERT INTO tasks(task_id, family, model, state, created_at, updated_at, callback_url, expects_callback, deadline_at)
                VALUES (?1, ?2, ?3, 'generating', ?4, ?4, ?5, 1, ?6)
                """,
                [.text(id), .text(family), .text(family == "veo" ? "veo3_fast" : Self.model), .integer(h.clock.now()),
                 .text(url), .integer(h.clock.now() + 600_000)])
        }
        let secret = "?secret=\(AgentHarness.callbackSecret)"
        #expect(await post(h, "/webhooks/kie\(secret)", body: marketCallback("legacy-1")).status == 200)
        let veoBody = #"{"code":200,"msg":"ok","data":{"taskId":"legacy-2","info":{"resultUrls":["u"]},"fallbackFlag":false}}"#
        #expect(await post(h, "/webhooks/veo\(secret)", body: veoBody).status == 200)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == ["legacy-1": 1, "legacy-2": 1])
        #expect(Set(h.app.deliveries.map(\.url)) == [Self.appURL, appVeo])
        #expect(try h.task("legacy-1")?.state == .success)
    }

    // MARK: Bytes on the wire (issue 17.1)

    /// Through the agent's own server and HTTP client on loopback, to an upstream that records
    /// the raw bytes: only the callBackUrl value differs from what the app sent.
    @Test func kieGetsTheAppsBytesExceptTheCallbackURL() async throws {
        let received = Mutex<[[UInt8]]>([])
        let upstream = try RawTCPServer.keepAlive { _, body in
            received.withLock { $0.append(body) }
            return RawTCPServer.response(
                body: #"{"code":200,"msg":"success","data":{"taskId":"task-bytes-1"}}"#,
                headers: ["Content-Type: application/json"])
        }
        defer { upstream.stop() }
        let database = try TemporaryDatabase()
        var config = AgentConfiguration()
        config.listen = HostPort(host: "127.0.0.1", port: 0)
        config.databasePath = database.path
        config.adminSocketPath = database.directory + "/kiewatch.sock"
        config.upstream = "http://127.0.0.1:\(upstream.port)"
        config.publicURL = "https://hooks.example"
        config.callbackSecret = "agent/secret"
        let logs = LogCollector()
        let service = try await AgentService.start(
            configuration: config, logger: Logger(minimum: .error, sink: { logs.append($0) }))

        let appURL = #""https:\/\/app.example\/hooks?secret=app-s3cr3t\u0026x=1""#
        let app = """
            {\t"n" : 12345678901234567890, "z":-0.0,"one":1.0 ,"e":10E2,"tiny":1e-7,
             "model":"\(Self.model)","input":{"prompt":"caf\\u00e9 \\ud83d\\ude00 \\"q\\"","callBackUrl":"https://nested.example/keep"},
             "callBack\\u0055rl" :  \(appURL) ,"tail":[1.50,{"callBackUrl":"x"}, "callBackUrl"]}\r\n
            """
        var status = 0
        do {
            let response = try await HTTPClient().send(
                try HTTPClientRequest(
                    method: "POST", url: "http://127.0.0.1:\(service.port)/api/v1/jobs/createTask",
                    headers: ["Authorization": "Bearer app-key", "Content-Type": "application/json"], body: Array(app.utf8)),
                timeout: .seconds(10))
            status = response.status
        } catch {
            Issue.record("create through the agent failed: \(error)")
        }
        let reader = try StoreReader(path: database.path)
        let route = try reader.db.rows("SELECT token, callback_url, task_id FROM callback_routes")
        await service.stop()

        #expect(status == 200)
        #expect(route.count == 1)
        let token = try #require(route.first?[0].string)
        #expect(route.first?[1].string == "https://app.example/hooks?secret=app-s3cr3t&x=1")
        #expect(route.first?[2].string == "task-bytes-1")
        let expected = app.replacingOccurrences(
            of: appURL, with: "\"https://hooks.example/webhooks/kie/\(token)?secret=agent%2Fsecret\"")
        #expect(expected != app)
        let bodies = received.withLock { $0 }
        #expect(bodies.count == 1)
        #expect(bodies.first.map { String(decoding: $0, as: UTF8.self) } == expected)
        #expect(bodies.first == Array(expected.utf8))
    }
}

extension AgentHarness {
    /// Makes every insert into `table` fail as a full disk does, until `heal(table)`.
    func failInserts(into table: String) throws {
        let db = try Database(path: database.path, mode: .readWrite)
        try db.execute(
            "CREATE TRIGGER kw_test_full_\(table) BEFORE INSERT ON \(table) BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    }

    func heal(_ table: String) throws {
        let db = try Database(path: database.path, mode: .readWrite)
        try db.execute("DROP TRIGGER kw_test_full_\(table)")
    }
}
