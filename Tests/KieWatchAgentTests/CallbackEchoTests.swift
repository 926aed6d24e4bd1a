import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Testing

/// Kie echoes the create request it received (`param`, `paramJson`) in status answers and
/// callbacks. The app must read its own callback URL there, as it would talking to Kie itself,
/// never the agent's route URL with the agent's secret.
@Suite struct CallbackEchoTests {
    static let marketApp = "https://app.example/hooks/kie?secret=\(AgentHarness.appSecret)"
    static let veoApp = "https://app.example/hooks/veo?secret=\(AgentHarness.appSecret)"

    /// The callBackUrl inside the echoed request (`data.param` or `data.paramJson`, JSON text).
    static func echoedCallbackURL(_ body: [UInt8]) throws -> String? {
        let data = try JSONValue.parse(body)["data"]
        let text = try #require(data?["param"]?.stringValue ?? data?["paramJson"]?.stringValue, "no echo in \(String(decoding: body, as: UTF8.self))")
        return try JSONValue.parse(Array(text.utf8))["callBackUrl"]?.stringValue
    }

    func status(_ h: AgentHarness, _ target: String) async -> HTTPResponse {
        await h.agent.router.handle(HTTPRequest(method: "GET", target: target, headers: ["Authorization": "Bearer app-key"]))
    }

    @Test func relayedCallbacksEchoTheAppsURLAndStoredBodiesHoldNoSecret() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket()
        await h.advance(seconds: 600)
        let delivery = try #require(h.app.deliveries.first)
        #expect(try Self.echoedCallbackURL(delivery.body) == Self.marketApp)
        let relayed = String(decoding: delivery.body, as: UTF8.self)
        #expect(!relayed.contains("/webhooks/") && !relayed.contains(AgentHarness.callbackSecret))
        // What Kie sent is stored with the agent's URL, its secret redacted, and no app secret.
        let stored = try #require(try h.reader().db.rows("SELECT CAST(body AS TEXT) FROM webhooks").first?[0].string)
        #expect(stored.contains("/webhooks/kie/") && stored.contains("secret=REDACTED"))
        #expect(!stored.contains(AgentHarness.callbackSecret) && !stored.contains(AgentHarness.appSecret))
        let outbox = try #require(try h.reader().db.rows("SELECT CAST(body AS TEXT) FROM relay_outbox").first?[0].string)
        #expect(outbox == stored)
        #expect(h.app.counts() == [id: 1])
    }

    @Test func statusAnswersEchoTheAppsURL() async throws {
        let h = try AgentHarness()
        let market = try await h.createMarket()
        let veo = try await h.createVeo()
        for (target, app) in [
            ("/api/v1/jobs/recordInfo?taskId=\(market)", Self.marketApp), ("/api/v1/veo/record-info?taskId=\(veo)", Self.veoApp),
        ] {
            let running = await status(h, target)
            #expect(running.status == 200)
            #expect(try Self.echoedCallbackURL(running.body) == app, "\(target)")
            #expect(!String(decoding: running.body, as: UTF8.self).contains(AgentHarness.callbackSecret))
        }
        await h.advance(seconds: 600)
        let done = await status(h, "/api/v1/jobs/recordInfo?taskId=\(market)")
        #expect(try JSONValue.parse(done.body)["data"]?["state"] == "success")
        #expect(try Self.echoedCallbackURL(done.body) == Self.marketApp)
    }

    @Test(arguments: [false, true])
    func synthesizedCallbacksEchoTheAppsURL(veo: Bool) async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = veo ? try await h.createVeo() : try await h.createMarket()
        await h.runLoops(seconds: 11 * 60)
        let delivery = try #require(h.app.deliveries.first)
        #expect(delivery.headers["X-KieWatch-Recovered"] == "true")
        #expect(delivery.taskID == id)
        let body = String(decoding: delivery.body, as: UTF8.self)
        #expect(!body.contains("/webhooks/") && !body.contains(AgentHarness.callbackSecret))
        // A Veo callback carries no echo; a market one carries the whole record, `param` too.
        if !veo { #expect(try Self.echoedCallbackURL(delivery.body) == Self.marketApp) }
    }

    /// A secret too short for the scrubber to look for anywhere is still never relayed: the
    /// whole echoed URL is replaced, whatever its secret.
    @Test func aOneByteSecretIsNotRelayed() async throws {
        let h = try AgentHarness(agent: { $0.callbackSecret = "z" })
        let id = try await h.createMarket()
        let answer = await status(h, "/api/v1/jobs/recordInfo?taskId=\(id)")
        #expect(try Self.echoedCallbackURL(answer.body) == Self.marketApp)
        await h.advance(seconds: 600)
        let delivery = try #require(h.app.deliveries.first)
        #expect(try Self.echoedCallbackURL(delivery.body) == Self.marketApp)
        #expect(!String(decoding: delivery.body, as: UTF8.self).contains("secret=z"))
    }

    /// The create answer was never stored (full disk): the route still names the app's URL.
    @Test func aStatusAnswerForATaskNeverStoredEchoesTheRoutesURL() async throws {
        let h = try AgentHarness()
        try h.failInserts(into: "tasks")
        let id = try await h.createMarket()
        try h.heal("tasks")
        #expect(try h.task(id) == nil)
        let answer = await status(h, "/api/v1/jobs/recordInfo?taskId=\(id)")
        #expect(try Self.echoedCallbackURL(answer.body) == Self.marketApp)
    }
}
