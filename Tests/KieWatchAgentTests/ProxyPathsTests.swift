import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Testing

/// Kie serves more than `/api/` on its host; an app whose one base URL points at the agent
/// sends every path here. All but the agent's own are proxied and recorded.
@Suite struct ProxyPathsTests {
    /// An upstream that answers every path with what it was asked: in Kie's envelope under
    /// `/api/`, in a chat vendor's shape (no `code`) elsewhere.
    static let echoUpstream = ClosureHandler { request in
        let code = request.path.hasPrefix("/api/") ? #""code":200,"msg":"success","# : ""
        return HTTPResponse(
            status: 200, headers: ["Content-Type": "application/json", "X-Upstream": "kie"],
            body: Array(#"{\#(code)"method":"\#(request.method)","target":"\#(request.target)","bytes":\#(request.body.count)}"#.utf8))
    }

    @Test func everyPathButTheAgentsOwnIsProxiedAndRecorded() async throws {
        let h = try AgentHarness()
        h.upstream.override.withLock { $0 = Self.echoUpstream }
        let cases: [(method: String, target: String, body: String, endpoint: String, model: String?)] = [
            ("POST", "/claude/v1/messages", #"{"model":"claude-sonnet-4-5","messages":[]}"#, "llm", "claude-sonnet-4-5"),
            ("POST", "/gpt-5-2/v1/chat/completions", #"{"messages":[],"model":"gpt-5-2","stream":true}"#, "llm", "gpt-5-2"),
            ("POST", "/gemini/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "{}", "llm", nil),
            ("GET", "/some/new/path?x=1", "", "other", nil),
            ("DELETE", "/api/v1/thing/7", "", "other", nil),
            ("PATCH", "/metrics/more", "{}", "other", nil),
        ]
        for c in cases {
            let response = await h.agent.router.handle(
                HTTPRequest(method: c.method, target: c.target, headers: ["Authorization": "Bearer app-key"], body: Array(c.body.utf8)))
            #expect(response.status == 200, "\(c.target)")
            #expect(response.headers["X-Upstream"] == "kie")
            let answer = try JSONValue.parse(response.body)
            #expect(answer["method"]?.stringValue == c.method && answer["target"]?.stringValue == c.target)
            #expect(answer["bytes"] == .int(Int64(c.body.utf8.count)))
        }
        #expect(h.upstream.seen.withLock { $0 } == cases.map { "\($0.method) \($0.target)" })
        try await h.agent.flush()
        let rows = try h.reader().db.rows("SELECT method, endpoint, model, outcome FROM api_calls ORDER BY id")
        #expect(rows.map { $0[0].string } == cases.map(\.method))
        #expect(rows.map { $0[1].string } == cases.map(\.endpoint))
        #expect(rows.map { $0[2].string } == cases.map(\.model))
        #expect(rows.allSatisfy { $0[3].string == "ok" })
        let metrics = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(metrics.contains(#"kiewatch_api_requests_total{endpoint="llm",model="claude-sonnet-4-5",code="200"} 1"#))
        #expect(metrics.contains(#"kiewatch_api_requests_total{endpoint="other",model="unknown",code="200"} 3"#))
        // Without Kie's envelope a chat answer is judged by its HTTP status; under /api/ it is not one.
        h.upstream.override.withLock { $0 = ClosureHandler { _ in HTTPResponse(status: 200, body: Array("{}".utf8)) } }
        _ = await h.agent.router.handle(HTTPRequest(method: "GET", target: "/api/v1/new/thing"))
        _ = await h.agent.router.handle(HTTPRequest(method: "POST", target: "/claude/v1/messages", body: Array("{}".utf8)))
        try await h.agent.flush()
        let last = try h.reader().db.rows("SELECT endpoint, outcome FROM api_calls ORDER BY id DESC LIMIT 2").map { "\($0[0].string!)/\($0[1].string!)" }
        #expect(last == ["llm/ok", "other/api_error"])
    }

    @Test func theAgentsOwnPathsAreAnsweredHere() async throws {
        let h = try AgentHarness()
        h.upstream.override.withLock { $0 = Self.echoUpstream }
        for (target, status) in [("/metrics", 200), ("/healthz", 200), ("/readyz", 200), ("/webhooks/kie/a.b", 404), ("/webhooks", 404), ("/webhooks/other", 404)] {
            let response = await h.agent.router.handle(HTTPRequest(method: "GET", target: target))
            #expect(response.status == status, "\(target)")
            #expect(response.headers["X-Upstream"] == nil, "\(target)")
        }
        #expect(await h.agent.router.handle(HTTPRequest(method: "GET", target: "/webhooks/kie")).status == 405)
        // A target that is not a path names nothing on Kie's host.
        for target in ["http://127.0.0.1/api/v1/chat/credit", "*"] {
            #expect(await h.agent.router.handle(HTTPRequest(method: "OPTIONS", target: target)).status == 404, "\(target)")
        }
        #expect(h.upstream.seen.withLock { $0 }.isEmpty)
    }
}
