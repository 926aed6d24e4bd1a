import KieWatchConsole
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

@testable import KieWatchAgent

/// The on-call actions through the real agent (simulator, agent and app on one test clock):
/// `relay retry`, `replay`, `relay pause`/`resume` and the circuit breaker, each asked the way
/// the console asks (`ConsoleCommands` with the agent as its actions, as the admin socket
/// runs them; `-c` through a real admin socket where its confirmation rule is the point).
@Suite struct RelayActionTests {
    static let key = "hmac-key-for-relays"

    /// Runs one console command against the live agent (uncut, as into a pipe).
    func console(_ h: AgentHarness, _ line: String) async throws -> ConsoleAnswer {
        await ConsoleCommands(reader: try h.reader(), clock: h.clock, actions: h.agent)
            .execute(line, options: AdminProtocol.SessionOptions(width: nil))
    }

    func metrics(_ h: AgentHarness) -> String {
        String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
    }

    func states(_ h: AgentHarness) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for row in try h.reader().db.rows("SELECT state, count(*) FROM relay_outbox GROUP BY state") {
            out[row[0].string ?? "?"] = row[1].int64
        }
        return out
    }

    // MARK: relay retry

    /// The app is down past `relay_give_up`: every relay gives up. Back up, `relay retry
    /// gave_up` over `-c` only counts them; with `--yes` each result reaches the app exactly
    /// once more, and repeating it queues nothing.
    @Test func retryGaveUpYesDeliversEveryGivenUpResultExactlyOnceMore() async throws {
        let h = try AgentHarness(agent: { $0.relayGiveUpMillis = 10 * 60_000 })
        h.app.down.store(true, ordering: .relaxed)
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try await h.createMarket()) }
        await h.advance(seconds: 3600, step: 30)
        try await h.agent.flush()
        #expect(try states(h) == ["gave_up": 6])
        #expect(h.app.deliveries.isEmpty)
        h.app.down.store(false, ordering: .relaxed)

        let socket = h.database.directory + "/admin.sock"
        let server = AdminServer(path: socket, databasePath: h.database.path, clock: h.clock, actions: h.agent,
                                 logger: .silent)
        try server.start()
        defer { server.stop() }
        func run(_ command: String) async -> (code: Int32, out: String, err: String) {
            let out = Mutex<[String]>([]), err = Mutex<[String]>([])
            let output = ConsoleCLI.Output(out: { line in out.withLock { $0.append(line) } },
                                           err: { line in err.withLock { $0.append(line) } }, isTerminal: false)
            let code = await ConsoleCLI.run(["--socket", socket, "-c", command], environment: [:], output: output)
            return (code, out.withLock { $0.joined(separator: "\n") }, err.withLock { $0.joined(separator: "\n") })
        }

        let preview = await run("relay retry gave_up since=2h")
        #expect(preview.code == 0, "\(preview.err)")
        #expect(preview.out.contains("6 given-up relays match, 6 would be put back"))
        #expect(preview.out.contains("add --yes"))
        try await h.agent.flush()
        #expect(try states(h) == ["gave_up": 6], "without --yes nothing changes")
        let outside = await run("relay retry gave_up since=1m --yes")
        #expect(outside.out.contains("no given-up relay to put back (0 given-up relays matched)"))

        let retried = await run("relay retry gave_up --yes")
        #expect(retried.code == 0, "\(retried.err)")
        #expect(retried.out.contains("put 6 given-up relays back in the outbox"))
        // Repeating it touches nothing: they are pending now, not given up.
        let again = await run("relay retry gave_up --yes")
        #expect(again.out.contains("no given-up relay to put back"))
        #expect(try states(h) == ["pending": 6])

        // The destination's circuit is still open from the outage (its next probe up to 10
        // minutes away): the retry lets it probe at once, the probe closes it, all go.
        await h.advance(seconds: 60, step: 30)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        #expect(try states(h) == ["delivered": 6])
        #expect((await run("relay retry gave_up --yes")).out.contains("no given-up relay"))
        await h.advance(seconds: 3600, step: 60)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }), "exactly once more")

        // One recorded action per confirmed command: who, what, how many.
        let actions = try h.reader().db.rows(
            "SELECT actor, action, target, count FROM actions ORDER BY id").map { $0.map { $0.displayString ?? "NULL" } }
        #expect(actions == [
            ["admin_socket", "relay_retry", "relay retry gave_up since=1m", "0"],
            ["admin_socket", "relay_retry", "relay retry gave_up", "6"],
            ["admin_socket", "relay_retry", "relay retry gave_up", "0"],
            ["admin_socket", "relay_retry", "relay retry gave_up", "0"],
        ])
        let timeline = try await console(h, "task \(ids[0])").output
        #expect(timeline.contains("relay retry gave_up by admin socket: put back in the outbox (6 relays in all)"))
        let delivered = try #require(try h.reader().db.rows("SELECT id FROM relay_outbox WHERE task_id = ?1", [.text(ids[0])])
            .first?[0].int64)
        let refused = try await console(h, "relay retry \(delivered)")
        #expect(refused.status == .error)
        #expect(refused.output == "relay #\(delivered) (task \(ids[0])) was delivered: `replay \(ids[0])` sends its result again")
    }

    /// `relay retry ID` puts one relay back; repeated while it is pending it queues no copy.
    @Test func retryOneRelayPutsItBackOnce() async throws {
        let h = try AgentHarness(agent: {
            $0.relayGiveUpMillis = 10 * 60_000
            $0.relayBreakerFailures = 1_000
        })
        h.app.down.store(true, ordering: .relaxed)
        let id = try await h.createMarket()
        await h.advance(seconds: 3600, step: 30)
        let relay = try #require(try h.reader().db.rows("SELECT id FROM relay_outbox").first?[0].int64)
        #expect(try states(h) == ["gave_up": 1])

        let first = try await console(h, "relay retry #\(relay)")
        #expect(first.output == "relay #\(relay) (task \(id)) is back in the outbox, due now with a new give-up window")
        let second = try await console(h, "relay retry \(relay) --json")
        #expect(try JSONValue.parse(second.output)["result"] == "already_pending")
        #expect(try h.reader().db.rows("SELECT count(*) FROM relay_outbox").first?[0].int64 == 1)
        // A new window: the relay is tried again on the schedule from the start, then given up again.
        await h.advance(seconds: 60)
        let row = try #require(try h.reader().db.rows(
            "SELECT attempts, window_attempts, state FROM relay_outbox").first)
        #expect((row[1].int64 ?? 0) >= 2 && (row[0].int64 ?? 0) > (row[1].int64 ?? 0))
        #expect(row[2].string == "pending", "a retried relay gets a whole give-up window again")
        h.app.down.store(false, ordering: .relaxed)
        await h.advance(seconds: 600, step: 30)
        #expect(h.app.counts() == [id: 1])
        let unknown = try await console(h, "relay retry 999999")
        #expect(unknown.status == .error && unknown.output == "no relay #999999 in the outbox (see `relay` for the ids)")
    }

    // MARK: replay

    /// `replay TASK` sends the recorded callback once more with `X-KieWatch-Replayed: true`,
    /// signed at its attempt; repeated while it waits, it queues no second copy.
    @Test func replayDeliversTheRecordedCallbackOnceWithTheHeader() async throws {
        let h = try AgentHarness(simulator: { $0.webhookHMACKey = Self.key }, agent: { $0.webhookHMACKey = Self.key })
        let id = try await h.createMarket()
        await h.advance(seconds: 600)
        let original = try #require(h.app.deliveries.first)
        #expect(h.app.counts() == [id: 1])
        #expect(original.headers[ReplayReport.header] == nil)

        h.clock.advance(byMillis: 3_600_000)
        let answer = try await console(h, "replay \(id)")
        #expect(answer.status == .ok, "\(answer.output)")
        #expect(answer.output.contains("the last callback Kie sent"))
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 2])
        let replayed = try #require(h.app.deliveries.last)
        #expect(replayed.headers[ReplayReport.header] == "true")
        #expect(replayed.headers["X-KieWatch-Recovered"] == nil)
        #expect(replayed.body == original.body)
        #expect(replayed.url == original.url)
        // Signed now, not with the hour-old timestamp Kie signed with.
        let timestamp = String(h.clock.now() / 1000)
        #expect(replayed.headers["X-Webhook-Timestamp"] == timestamp)
        #expect(replayed.headers["X-Webhook-Signature"]
            == HMACSHA256.kieSignature(key: Self.key, taskId: id, timestamp: timestamp))
        #expect(original.headers["X-Webhook-Timestamp"] != timestamp)

        // While a replay waits (the app is down), another one queues no second copy.
        h.app.down.store(true, ordering: .relaxed)
        #expect(try await console(h, "replay \(id)").output.hasPrefix("queued relay #"))
        await h.agent.runRelayOnce()
        let waiting = try JSONValue.parse(try await console(h, "replay \(id) --json").output)
        #expect(waiting["result"] == "already_pending")
        #expect(try h.reader().db.rows("SELECT count(*) FROM relay_outbox WHERE state = 'pending'").first?[0].int64 == 1)
        h.app.down.store(false, ordering: .relaxed)
        await h.advance(seconds: 120)
        #expect(h.app.counts() == [id: 3])

        let timeline = try await console(h, "task \(id)").output
        #expect(timeline.contains("replay \(id) by admin socket: queued relay #2 (the recorded callback)"))
        #expect(timeline.contains("replay \(id) by admin socket: not queued: relay #3 already pending"))
        let actions = try h.reader().db.rows("SELECT actor, action, count FROM actions ORDER BY id")
            .map { $0.map { $0.displayString ?? "NULL" } }
        #expect(actions == [["admin_socket", "replay", "1"], ["admin_socket", "replay", "1"], ["admin_socket", "replay", "0"]])
    }

    /// A task whose callback never came (recovered by polling) is replayed from a fresh status
    /// poll, in Kie's callback shape, marked both recovered and replayed.
    @Test func replayWithoutAReceivedCallbackPollsKieNow() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.webhookHMACKey = Self.key })
        let id = try await h.createMarket()
        await h.runLoops(seconds: 11 * 60)
        #expect(try h.task(id)?.resultSource == .recovery)
        #expect(h.app.counts() == [id: 1])
        let recovered = try #require(h.app.deliveries.first)
        #expect(recovered.headers["X-Webhook-Signature"] != nil, "a synthesized callback is signed too")

        let polls = h.upstream.seen.withLock { $0.filter { $0.contains("recordInfo") }.count }
        let answer = try await console(h, "replay \(id) --json")
        #expect(try JSONValue.parse(answer.output)["source"] == "status_poll")
        #expect(h.upstream.seen.withLock { $0.filter { $0.contains("recordInfo") }.count } == polls + 1)
        await h.agent.runRelayOnce()
        #expect(h.app.counts() == [id: 2])
        let replayed = try #require(h.app.deliveries.last)
        #expect(replayed.headers[ReplayReport.header] == "true")
        #expect(replayed.headers["X-KieWatch-Recovered"] == "true")
        #expect(replayed.taskID == id)
        let timestamp = String(h.clock.now() / 1000)
        #expect(replayed.headers["X-Webhook-Signature"] == HMACSHA256.kieSignature(key: Self.key, taskId: id, timestamp: timestamp))
    }

    @Test func replayRefusesWhatItCannotSend() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let running = try await h.createMarket()
        let polling = try await h.createMarket(callback: false)
        await h.advance(seconds: 10)
        let cases = [
            ("replay nope", "no task 'nope' in the store (unknown id, or older than the retention)"),
            ("replay \(running)", "task \(running) has not finished"),
            ("replay \(polling)", "task \(polling) has no callback URL (the app polls it): there is nothing to replay to"),
            ("replay", "replay needs a task id\nusage: replay TASK"),
            ("replay a b", "replay takes exactly one task id\nusage: replay TASK"),
        ]
        for (line, expected) in cases {
            let answer = try await console(h, line)
            #expect(answer.status == .error, "\(line)")
            #expect(answer.output.hasPrefix(expected), "\(line): \(answer.output)")
        }
        #expect(try h.reader().db.rows("SELECT count(*) FROM actions").first?[0].int64 == 0, "refusals act on nothing")
    }

    // MARK: relay pause, relay resume

    /// Paused, deliveries keep queueing and nothing gives up, past `relay_give_up` and across a
    /// restart; `relay resume` sends each of them once.
    @Test func pauseHoldsDeliveriesAcrossARestartAndResumeSendsThem() async throws {
        let h = try AgentHarness(agent: { $0.relayGiveUpMillis = 20 * 60_000 })
        h.app.down.store(true, ordering: .relaxed)
        let before = try await h.createMarket()
        await h.advance(seconds: 300)  // its relay has failed a few times
        let paused = try await console(h, "relay pause")
        #expect(paused.output.contains("relay paused until `relay resume`"))
        #expect(metrics(h).contains("kiewatch_relay_paused 1"))
        h.app.down.store(false, ordering: .relaxed)
        var ids = [before]
        for _ in 0..<3 { ids.append(try await h.createMarket()) }
        await h.advance(seconds: 3600, step: 30)
        #expect(h.app.deliveries.isEmpty, "paused: nothing goes out")
        #expect(try states(h) == ["pending": 4], "and nothing gives up: the give-up clocks stopped")

        try await h.restart()
        #expect(metrics(h).contains("kiewatch_relay_paused 1"))
        let status = try await console(h, "status")
        #expect(status.output.contains("PAUSED since"))
        #expect(try JSONValue.parse(try await console(h, "status --json").output)["relay_paused"] == true)
        await h.advance(seconds: 600, step: 30)
        #expect(h.app.deliveries.isEmpty, "the pause survives a restart")

        let resumed = try await console(h, "relay resume")
        #expect(resumed.output == "relay resumed: sending 4 pending relays now")
        #expect(metrics(h).contains("kiewatch_relay_paused 0"))
        await h.advance(seconds: 60)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        #expect(try states(h) == ["delivered": 4])
        #expect(try await console(h, "relay resume").output == "the relay was not paused: nothing to resume")
        let actions = try h.reader().db.rows("SELECT actor, action, count FROM actions ORDER BY id")
            .map { $0.map { $0.displayString ?? "NULL" } }
        #expect(actions == [["admin_socket", "relay_pause", "1"], ["admin_socket", "relay_resume", "4"],
                            ["admin_socket", "relay_resume", "0"]])
    }

    /// `relay pause 10m` ends by itself at 10 minutes (recorded as the agent's resume).
    @Test func aTimedPauseEndsByItself() async throws {
        let h = try AgentHarness()
        #expect(try await console(h, "relay pause 10m").output.contains("(in 10m)"))
        let id = try await h.createMarket()
        await h.advance(seconds: 540)
        #expect(h.app.deliveries.isEmpty)
        await h.advance(seconds: 90)
        #expect(h.app.counts() == [id: 1])
        #expect(metrics(h).contains("kiewatch_relay_paused 0"))
        let last = try h.reader().db.rows("SELECT actor, action, target FROM actions ORDER BY id DESC LIMIT 1").first
        #expect(last == [.text("agent"), .text("relay_resume"), .text("pause ended")])
    }

    // MARK: Circuit breaker

    /// An app behind two hosts, either of which can be down; every attempt is counted.
    final class TwoHostApp: HTTPTransport {
        /// The harness's clock, once the harness exists.
        let clock = Mutex<TestClock?>(nil)
        let down = Mutex<Set<String>>([])
        let attempts = Mutex<[(host: String, at: EpochMillis)]>([])
        let delivered = Mutex<[String: Int]>([:])

        func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
            let host = request.url.host
            let now = clock.withLock { $0?.now() } ?? 0
            attempts.withLock { $0.append((host, now)) }
            if down.withLock({ $0.contains(host) }) { throw .connectFailed(errno: 111, message: "connection refused") }
            let id = (try? JSONValue.parse(request.body))?["data"]?["taskId"]?.stringValue ?? "?"
            delivered.withLock { $0[id, default: 0] += 1 }
            return HTTPResponse(status: 200)
        }

        func attemptTimes(_ host: String) -> [EpochMillis] {
            attempts.withLock { $0.filter { $0.host == host }.map(\.at) }
        }
    }

    /// After 3 consecutive failures the dead destination is tried by one probe at a time, at
    /// most one per probe interval (30 s, doubling), whatever number of relays wait for it;
    /// another destination is not held; when the dead one answers, everything goes, once.
    @Test func theBreakerLimitsAttemptsAgainstADeadDestinationToOneProbePerInterval() async throws {
        let app = TwoHostApp()
        let h = try AgentHarness(agent: {
            $0.relayBreakerFailures = 3
            $0.relayBreakerProbeIntervalMillis = 30_000
        }, relay: app)
        app.clock.withLock { $0 = h.clock }
        app.down.withLock { $0 = ["dead.example"] }
        var dead: [String] = []
        for _ in 0..<12 { dead.append(try await h.createMarket(callbackURL: "https://dead.example/cb?secret=s")) }
        let alive = try await h.createMarket(callbackURL: "https://alive.example/cb")
        await h.advance(seconds: 600, step: 5)
        let opened = try #require(app.attemptTimes("dead.example").dropFirst(2).first)
        #expect(app.delivered.withLock { $0[alive] } == 1, "another destination is not held")
        #expect(metrics(h).contains(#"kiewatch_relay_circuit_open{destination="https://dead.example:443"} 1"#))
        let relay = try await console(h, "relay")
        #expect(relay.output.contains("https://dead.example:443"))
        #expect(relay.output.contains("open"))
        #expect(try await console(h, "status").output.contains("circuit open for https://dead.example:443"))

        await h.advance(seconds: 3600, step: 5)
        let afterOpen = app.attemptTimes("dead.example").filter { $0 > opened }
        // Every attempt after the circuit opened is a probe: one at a time, the next at least
        // the (doubling) interval later, and far fewer than the relays waiting.
        var interval: Int64 = 30_000
        var previous = opened
        for attempt in afterOpen {
            #expect(attempt - previous >= interval, "probes \(afterOpen.map { ($0 - opened) / 1000 }) s after opening")
            previous = attempt
            interval = min(interval * 2, RelayCircuitBreaker.maxProbeIntervalMillis)
        }
        #expect(!afterOpen.isEmpty && afterOpen.count <= 10, "\(afterOpen.count) probes in 70 minutes")
        #expect(app.delivered.withLock { $0.keys.filter(dead.contains) }.isEmpty)
        try await h.agent.flush()
        #expect(try states(h)["pending"] == 12, "held relays do not give up inside their window")

        app.down.withLock { $0 = [] }
        await h.advance(seconds: 660, step: 5)
        #expect(app.delivered.withLock { $0 } == Dictionary(uniqueKeysWithValues: (dead + [alive]).map { ($0, 1) }))
        #expect(metrics(h).contains(#"kiewatch_relay_circuit_open{destination="https://dead.example:443"} 0"#))
        #expect(!(try await console(h, "relay").output.contains("dead.example")))
        #expect(!metrics(h).contains("secret=s"))
    }

    /// Relays held by an open circuit for their whole window give up then, counted as gave_up.
    @Test func heldRelaysGiveUpAtTheEndOfTheirWindow() async throws {
        let app = TwoHostApp()
        let h = try AgentHarness(agent: {
            $0.relayBreakerFailures = 2
            $0.relayGiveUpMillis = 20 * 60_000
        }, relay: app)
        app.clock.withLock { $0 = h.clock }
        app.down.withLock { $0 = ["dead.example"] }
        for _ in 0..<5 { _ = try await h.createMarket(callbackURL: "https://dead.example/cb") }
        await h.advance(seconds: 3600, step: 10)
        try await h.agent.flush()
        #expect(try states(h) == ["gave_up": 5])
        #expect(metrics(h).contains(#"kiewatch_relay_attempts_total{result="gave_up"} 5"#))
        let errors = try h.reader().db.rows("SELECT last_error FROM relay_outbox").compactMap { $0[0].string }
        #expect(errors.contains { $0.contains("given up unattempted: the circuit of https://dead.example:443 stayed open") })
    }
}
