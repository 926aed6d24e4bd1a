import Foundation
import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchSimulator
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

/// The real agent (`AgentService`: its HTTP server, its socket client) on loopback, between a
/// test client and an upstream on loopback: what the app sends and receives is what it would
/// with Kie.
final class LoopbackAgent {
    let database: TemporaryDatabase
    let service: AgentService

    init(upstream: String, tune: (inout AgentConfiguration) -> Void = { _ in }) async throws {
        database = try TemporaryDatabase()
        var config = AgentConfiguration()
        config.listen = HostPort(host: "127.0.0.1", port: 0)
        config.databasePath = database.path
        config.adminSocketPath = database.directory + "/kiewatch.sock"
        config.upstream = upstream
        config.uploadUpstream = upstream
        config.callbackSecret = "kie/cb-secret"
        config.upstreamTimeoutMillis = 10_000
        tune(&config)
        service = try await AgentService.start(configuration: config, logger: Logger(minimum: .error, sink: { _ in }))
    }

    var port: Int { service.port }
    var base: String { "http://127.0.0.1:\(service.port)" }

    func stop() async { await service.stop(gracePeriod: .seconds(2)) }

    /// The recorded API calls, once the writer has committed what it holds.
    func calls() async throws -> [[SQLValue]] {
        try await service.agent.flush()
        return try StoreReader(path: database.path).db.rows(
            "SELECT method, endpoint, model, http_status, response_bytes, outcome, error, latency_us FROM api_calls ORDER BY id")
    }
}

@Suite(.serialized) struct LoopbackProxyTests {
    static let chatRequest = #"{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"hi"}]}"#

    func post(_ path: String, body: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: kie\r\nAuthorization: Bearer app-key\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    // MARK: Streams stream (issue 17.4)

    @Test func anSSEAnswersFirstEventReachesTheClientBeforeTheUpstreamFinishes() async throws {
        let upstream = try GatedStreamServer(
            head: GatedStreamServer.sseHead + "Cache-Control: no-cache\r\n",
            first: GatedStreamServer.chunk("event: message_start\ndata: {\"n\":1}\n\n"),
            rest: GatedStreamServer.chunk("event: message_stop\ndata: {\"n\":2}\n\n") + "0\r\n\r\n")
        defer { upstream.stop() }
        let agent = try await LoopbackAgent(upstream: "http://127.0.0.1:\(upstream.port)")
        let client = try await RawHTTPClient(port: agent.port, timeout: .seconds(30))
        try await client.send(post("/claude/v1/messages", body: Self.chatRequest))

        #expect(try await client.waitForBytes("data: {\"n\":1}\n\n"))
        #expect(upstream.release(), "the first event came through only after the upstream had sent the rest")
        let response = try await client.readResponse()
        client.close()
        let calls = try await agent.calls()
        await agent.stop()

        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/event-stream")
        #expect(response.headers["Cache-Control"] == "no-cache")
        #expect(response.text == "event: message_start\ndata: {\"n\":1}\n\nevent: message_stop\ndata: {\"n\":2}\n\n")
        // The upstream got the app's request as it was sent.
        #expect(upstream.received?.head.hasPrefix("POST /claude/v1/messages HTTP/1.1\r\n") == true)
        #expect(upstream.received?.body == Array(Self.chatRequest.utf8))
        // Recorded when the stream ended: chat endpoint, the request's model, every byte.
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect(call[0].string == "POST" && call[1].string == "llm" && call[2].string == "claude-sonnet-4-5")
        #expect(call[3].int64 == 200 && call[4].int64 == Int64(response.body.count) && call[5].string == "ok")
        #expect(call[6] == .null)
    }

    @Test func anUpstreamThatBreaksOffMidStreamIsRecordedAsAnErrorAndTheClientSeesNoEnd() async throws {
        let upstream = try GatedStreamServer(
            head: GatedStreamServer.sseHead, first: GatedStreamServer.chunk("data: one\n\n"),
            rest: GatedStreamServer.chunk("data: tw"), closeAfter: true)
        defer { upstream.stop() }
        let agent = try await LoopbackAgent(upstream: "http://127.0.0.1:\(upstream.port)")
        let client = try await RawHTTPClient(port: agent.port, timeout: .seconds(30))
        try await client.send(post("/gpt-5-2/v1/chat/completions", body: #"{"model":"gpt-5-2","stream":true}"#))
        #expect(try await client.waitForBytes("data: one\n\n"))
        #expect(upstream.release())
        #expect(try await client.waitForClose(), "the agent aborts the app's connection")
        #expect(!String(decoding: client.pending, as: UTF8.self).hasSuffix("0\r\n\r\n"), "no end of body was faked")
        client.close()
        let calls = try await agent.calls()
        await agent.stop()
        let call = try #require(calls.first)
        #expect(call[1].string == "llm" && call[3].int64 == 200 && call[5].string == "error")
        #expect(call[6].string?.hasPrefix("stream broken off after") == true)
    }

    /// A user who stops a chat: the app closes mid-stream. The call is recorded as far as it
    /// went (Kie did not fail), and the upstream read is abandoned.
    @Test func aClientThatLeavesMidStreamIsRecordedAsFarAsItWent() async throws {
        let upstream = try GatedStreamServer(
            head: GatedStreamServer.sseHead, first: GatedStreamServer.chunk("data: one\n\n"),
            rest: GatedStreamServer.chunk("data: two\n\n") + "0\r\n\r\n")
        defer { upstream.stop() }
        let agent = try await LoopbackAgent(upstream: "http://127.0.0.1:\(upstream.port)")
        let client = try await RawHTTPClient(port: agent.port, timeout: .seconds(30))
        try await client.send(post("/claude/v1/messages", body: Self.chatRequest))
        #expect(try await client.waitForBytes("data: one\n\n"))
        client.close()
        var calls: [[SQLValue]] = []
        for _ in 0..<400 where calls.isEmpty {
            try await Task.sleep(for: .milliseconds(25))
            calls = try await agent.calls()
        }
        _ = upstream.release()
        await agent.stop()
        let call = try #require(calls.first)
        #expect(call[1].string == "llm" && call[3].int64 == 200 && call[5].string == "ok")
        #expect(call[4].int64 == Int64("data: one\n\n".utf8.count))
        #expect(call[6].string?.hasPrefix("the client left after") == true)
    }

    // MARK: Every path is proxied (issue 17.3)

    @Test func aChatPathIsProxiedAndRecorded() async throws {
        let upstream = try RawTCPServer.keepAlive { head, body in
            RawTCPServer.response(
                body: #"{"id":"msg_1","type":"message","seen":"\#(head.split(separator: " ")[1])","bytes":\#(body.count)}"#,
                headers: ["Content-Type: application/json"])
        }
        defer { upstream.stop() }
        let agent = try await LoopbackAgent(upstream: "http://127.0.0.1:\(upstream.port)")
        let client = try await RawHTTPClient(port: agent.port, timeout: .seconds(30))
        try await client.send(post("/codex/v1/responses", body: #"{"model":"gpt-5-codex","input":"x"}"#))
        let chat = try await client.readResponse()
        try await client.send("GET /metrics HTTP/1.1\r\nHost: kie\r\n\r\n")
        let metrics = try await client.readResponse()
        client.close()
        let calls = try await agent.calls()
        await agent.stop()

        #expect(chat.status == 200)
        #expect(chat.text == #"{"id":"msg_1","type":"message","seen":"/codex/v1/responses","bytes":35}"#)
        #expect(metrics.status == 200 && metrics.text.contains(#"kiewatch_api_requests_total{endpoint="llm",model="gpt-5-codex",code="200"} 1"#))
        #expect(upstream.requestsRead == 1, "/metrics is the agent's own")
        #expect(calls.count == 1 && calls.first?[1].string == "llm" && calls.first?[5].string == "ok")
    }

    // MARK: The app sees its own URL (issue 17.2)

    /// Simulator (Kie), agent and app, each on its own loopback port: Kie calls the agent back
    /// over HTTP, the agent relays to the app over HTTP.
    @Test func relayedCallbacksAndStatusAnswersEchoTheAppsOwnURL() async throws {
        let clock = TestClock()
        var sim = SimulatorConfiguration()
        sim.rateLimit = nil
        sim.legacyPayloadRate = 0
        let simulator = KieSimulator(configuration: sim, clock: clock, callbackSender: TransportCallbackSender())
        let kie = HTTPServer(handler: simulator)
        let kiePort = try await kie.start(host: "127.0.0.1", port: 0)
        let relayed = Mutex<[HTTPRequest]>([])
        let app = HTTPServer(handler: ClosureHandler { request in
            relayed.withLock { $0.append(request) }
            return .json(["code": 200, "msg": "success"])
        })
        let appPort = try await app.start(host: "127.0.0.1", port: 0)
        let agent = try await LoopbackAgent(upstream: "http://127.0.0.1:\(kiePort)")
        let appURL = "http://127.0.0.1:\(appPort)/hooks/kie?secret=app-s3cr3t&x=1"
        let veoAppURL = "http://127.0.0.1:\(appPort)/hooks/veo?secret=app-s3cr3t"
        let client = HTTPClient()

        func call(_ method: String, _ target: String, _ body: JSONValue? = nil) async throws -> HTTPResponse {
            try await client.send(
                try HTTPClientRequest(
                    method: method, url: agent.base + target, headers: ["Authorization": "Bearer app-key"],
                    body: body?.serializedBytes() ?? []),
                timeout: .seconds(10))
        }
        let market = try await call("POST", "/api/v1/jobs/createTask", [
            "model": "kling-2.6/text-to-video", "callBackUrl": .string(appURL), "input": ["prompt": "p", "duration": "5"],
        ])
        let veo = try await call("POST", "/api/v1/veo/generate", [
            "prompt": "p", "model": "veo3_fast", "callBackUrl": .string(veoAppURL),
        ])
        let marketID = try #require(KieEnvelope(body: market.body).flatMap(KieWire.createdTaskId))
        let veoID = try #require(KieEnvelope(body: veo.body).flatMap(KieWire.createdTaskId))
        let marketAt = simulator.task(id: marketID)?.callBackUrl ?? ""
        let statusRunning = try await call("GET", "/api/v1/jobs/recordInfo?taskId=\(marketID)")
        let veoStatus = try await call("GET", "/api/v1/veo/record-info?taskId=\(veoID)")

        clock.advance(byMillis: 900_000)
        await simulator.tick()
        let statusDone = try await call("GET", "/api/v1/jobs/recordInfo?taskId=\(marketID)")
        var deliveries: [HTTPRequest] = []
        for _ in 0..<400 where deliveries.count < 2 {
            try await Task.sleep(for: .milliseconds(50))
            deliveries = relayed.withLock { $0 }
        }
        await agent.stop()
        await kie.shutdown(gracePeriod: .seconds(1))
        await app.shutdown(gracePeriod: .seconds(1))

        // Kie got the agent's URL...
        #expect(marketAt.hasPrefix(agent.base + "/webhooks/kie/") && marketAt.hasSuffix("?secret=kie%2Fcb-secret"))
        // ...and the app reads its own everywhere Kie echoes it.
        #expect(try CallbackEchoTests.echoedCallbackURL(statusRunning.body) == appURL)
        #expect(try CallbackEchoTests.echoedCallbackURL(statusDone.body) == appURL)
        #expect(try CallbackEchoTests.echoedCallbackURL(veoStatus.body) == veoAppURL)
        #expect(deliveries.count == 2)
        let marketDelivery = try #require(deliveries.first { $0.path == "/hooks/kie" })
        #expect(marketDelivery.target == "/hooks/kie?secret=app-s3cr3t&x=1")
        #expect(try CallbackEchoTests.echoedCallbackURL(marketDelivery.body) == appURL)
        for body in [statusRunning.body, statusDone.body, veoStatus.body] + deliveries.map(\.body) {
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains("/webhooks/") && !text.contains("cb-secret") && !text.contains("REDACTED"), "\(text)")
        }
    }
}
