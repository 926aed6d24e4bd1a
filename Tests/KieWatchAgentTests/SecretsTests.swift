import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Testing

@testable import KieWatchAgent

/// The app's callback URL may carry a password (user info) and a secret (query): the relay
/// needs both, and nothing else the agent writes may show either.
@Suite struct RelaySecretsTests {
    static let password = "PASS"
    static let secret = "APPSECRET"

    /// One relay to a URL the client can use but nobody answers (retried), one to a URL it can
    /// never use (given up at once): their errors quote the URL, so each place the agent writes
    /// text is read back.
    @Test func thePasswordAndSecretOfARelayURLAppearNowhereTheAgentWrites() async throws {
        let dead = RawTCPServer.RefusingPort()
        let h = try AgentHarness(relay: HTTPClientRouter(http: HTTPClient()))
        let reachable = "http://appuser:\(Self.password)@127.0.0.1:\(dead.port)/cb?secret=\(Self.secret)"
        let id = try await h.createMarket(callbackURL: reachable)
        // A URL no client can ever use, as an older build queued it (the proxy now refuses it).
        let impossible = "http://appuser:\(Self.password)@127.0.0.1:99999/cb?secret=\(Self.secret)"
        let now = h.clock.now()
        try await h.agent.context.writer.write { ctx in
            try ctx.enqueueRelay(RelayOutboxItem(taskID: id, url: impossible, body: Array("{}".utf8), createdAt: now))
        }
        await h.advance(seconds: 600)
        try await h.agent.flush()

        let rows = try h.reader().db.rows("SELECT url, state, attempts, last_error FROM relay_outbox ORDER BY id")
        #expect(rows.count == 2)
        #expect(rows.first { $0[0].string == reachable }?[1].string == "pending")
        #expect((rows.first { $0[0].string == reachable }?[2].int64 ?? 0) >= 2, "a refused connection is retried")
        let given = try #require(rows.first { $0[0].string == impossible })
        #expect(given[1].string == "gave_up" && given[2].int64 == 1, "a URL no client can use is given up at once")
        #expect(given[3].string?.contains("not retried") == true)
        let metrics = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(metrics.contains(#"kiewatch_relay_attempts_total{result="gave_up"} 1"#))

        let commands = ConsoleCommands(reader: try h.reader(), clock: h.clock, actions: h.agent)
        var outputs = [
            "logs": h.logs.all, "stored": try h.storedText(), "metrics": metrics,
            "openmetrics": String(decoding: h.agent.metrics.registry.render(.openMetrics), as: UTF8.self),
        ]
        for line in ["relay", "relay --json", "task \(id)", "task \(id) --json", "calls --json", "errors 24h --json"] {
            let answer = await commands.execute(line)
            #expect(answer.status == .ok, "\(line): \(answer.output)")
            outputs[line] = answer.output
        }
        #expect(h.logs.all.contains("relay.failed"))
        #expect(outputs["relay --json"]?.contains("REDACTED@127.0.0.1") == true)
        for (place, text) in outputs {
            #expect(!text.contains(Self.password), "\(place) shows the password")
            #expect(!text.contains(Self.secret), "\(place) shows the secret")
        }
    }

    /// A URL with user info is delivered (the transports send it as Basic authorization, see
    /// the HTTP client's tests), not refused by the relay and retried for a day.
    @Test func aCallbackURLWithUserInfoIsDelivered() async throws {
        let h = try AgentHarness()
        let id = try await h.createMarket(callbackURL: "https://app%20user:p%40ss:word@app.example/cb?secret=s")
        await h.advance(seconds: 600)
        let delivery = try #require(h.app.deliveries.first { $0.taskID == id })
        #expect(delivery.url == "https://app.example/cb?secret=s")
        #expect(try h.reader().db.rows("SELECT state FROM relay_outbox").first?[0].string == "delivered")
    }
}

/// The agent's own secrets in bodies Kie echoes, of every length.
@Suite struct SecretScrubberTests {
    func scrub(_ text: String, _ secrets: String?...) -> String {
        String(decoding: SecretScrubber(secrets: secrets).scrub(Array(text.utf8)), as: UTF8.self)
    }

    @Test func longSecretsGoWhereverTheyAre() {
        #expect(scrub(#"{"u":"https://a/webhooks/kie?secret=kie-s3cret","x":"kie-s3cret!"}"#, "kie-s3cret")
            == #"{"u":"https://a/webhooks/kie?secret=REDACTED","x":"REDACTED!"}"#)
        #expect(scrub("a?secret=k%2Fy%20z", "k/y z") == "a?secret=REDACTED")
        #expect(scrub("nothing here", "kie-s3cret", nil) == "nothing here")
    }

    /// Short secrets used to be skipped altogether; now they are scrubbed where a secret sits,
    /// and only there.
    @Test(arguments: ["a", "ab", "abc"])
    func shortSecretsGoWhereASecretSits(secret: String) {
        let kept = "the \(secret)lphabet, x=\(secret), ?taskId=\(secret)&y=\(secret)\(secret)"
        #expect(scrub(kept, secret) == kept)
        #expect(scrub(#"{"callBackUrl":"https://agent/webhooks/kie?secret=\#(secret)"}"#, secret)
            == #"{"callBackUrl":"https://agent/webhooks/kie?secret=REDACTED"}"#)
        #expect(scrub(#"{"param":"{\"callBackUrl\":\"https://agent/webhooks/kie?taskId=1&secret=\#(secret)\"}"}"#, secret)
            == #"{"param":"{\"callBackUrl\":\"https://agent/webhooks/kie?taskId=1&secret=REDACTED\"}"}"#)
        #expect(scrub("cb%3Fapi_key%3D\(secret)", secret) == "cb%3Fapi_key%3DREDACTED")
        #expect(scrub("Authorization: Bearer \(secret)\r\n", secret) == "Authorization: Bearer REDACTED\r\n")
        #expect(scrub(#"{"key":"\#(secret)","n":1}"#, secret) == #"{"key":"REDACTED","n":1}"#)
        #expect(scrub(#"{"param":"{\"k\":\"\#(secret)\"}"}"#, secret) == #"{"param":"{\"k\":\"REDACTED\"}"}"#)
    }

    @Test func aShortSecretNeedingEncodingIsFoundInBothForms() {
        #expect(scrub("?secret=%2F&token=/", "/") == "?secret=REDACTED&token=REDACTED")
    }
}
