import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

@testable import KieWatchAgent

@Suite struct RecoveryTests {
    func run(_ h: AgentHarness, seconds: Int, step: Int = 5) async { await h.runLoops(seconds: seconds, step: step) }

    func metric(_ h: AgentHarness, _ line: String) -> Bool {
        String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self).contains(line)
    }

    @Test(arguments: [false, true])
    func droppedCallbackIsRecoveredOnceAndRelayed(veo: Bool) async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = veo ? try await h.createVeo() : try await h.createMarket()
        let model = veo ? "veo3_fast" : "kling-2.6/text-to-video"
        await run(h, seconds: 9 * 60)
        #expect(try h.task(id)?.state.isTerminal == false)  // done at Kie, but nobody told us
        #expect(h.app.deliveries.isEmpty)
        h.agent.refreshGauges()
        #expect(metric(h, #"kiewatch_tasks_stale{model="\#(model)"} 0"#))
        await run(h, seconds: 2 * 60)  // deadline (10 min) passes
        let task = try #require(try h.task(id))
        #expect(task.state.isTerminal)
        #expect(task.resultSource == .recovery)
        #expect(task.missed)
        #expect(h.app.counts() == [id: 1])
        let delivery = try #require(h.app.deliveries.first)
        #expect(delivery.headers["X-KieWatch-Recovered"] == "true")
        let json = try #require(delivery.json)
        let decoded = try KieWire.callback(try #require(KieEnvelope(json: json)), family: veo ? .veo : .market)
        #expect(decoded.taskId == id)
        #expect(decoded.state == task.state)
        #expect(!String(decoding: delivery.body, as: UTF8.self).contains(AgentHarness.callbackSecret))
        #expect(metric(h, #"kiewatch_webhooks_missed_total{model="\#(model)"} 1"#))
        #expect(metric(h, #"kiewatch_recovery_polls_total{model="\#(model)",result="recovered"} 1"#))
        // Nothing more happens: recovered once, missed counted once.
        await run(h, seconds: 30 * 60, step: 60)
        #expect(h.app.counts() == [id: 1])
        #expect(metric(h, #"kiewatch_webhooks_missed_total{model="\#(model)"} 1"#))
        #expect(try h.reader().db.rows("SELECT count(*) FROM recoveries").first?[0].int64 == 1)
    }

    @Test func aLateRealCallbackAfterRecoveryIsNotRelayedAgain() async throws {
        let h = try AgentHarness(simulator: {
            $0.lateCallbackRate = 1
            $0.lateCallbackDelay = .seconds(20 * 60) ... .seconds(25 * 60)
        })
        let id = try await h.createMarket()
        await run(h, seconds: 15 * 60)
        #expect(try h.task(id)?.resultSource == .recovery)
        #expect(h.app.counts() == [id: 1])
        await run(h, seconds: 30 * 60, step: 30)
        #expect(h.simulator.deliveries().count >= 1)  // the real callback did arrive
        #expect(h.app.counts() == [id: 1])
        let results = try h.reader().db.rows("SELECT result FROM webhooks").compactMap { $0[0].string }
        #expect(results == ["late"])
        #expect(metric(h, #"kiewatch_webhooks_received_total{model="kling-2.6/text-to-video",result="duplicate"} 1"#))
        #expect(metric(h, #"kiewatch_webhooks_missed_total{model="kling-2.6/text-to-video"} 1"#))
    }

    @Test func aTaskStillGeneratingIsNotMissedAndPollsBackOff() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.deadlines.configuredDefault = 30_000 })
        let id = try await h.createMarket(model: "sora-2-image-to-video")  // takes minutes
        await run(h, seconds: 100, step: 1)
        let polls = try h.reader().db.rows("SELECT ts, result FROM recoveries ORDER BY id")
        #expect(polls.count >= 3)
        #expect(polls.allSatisfy { $0[1].string == "still_running" })
        let gaps = zip(polls.dropFirst(), polls).map { ($0[0].int64 ?? 0) - ($1[0].int64 ?? 0) }
        // Every 3 s for the first 30 s of recovery, then every 10 s.
        #expect(gaps.first == 3000)
        #expect(gaps.last == 10_000)
        #expect(try h.task(id)?.missed == false)
        #expect(!metric(h, "kiewatch_webhooks_missed_total{"))
    }

    @Test func anUnknownTaskIsNotFound() async throws {
        let h = try AgentHarness()
        h.upstream.override.withLock {
            $0 = ClosureHandler { _ in .json(["code": 200, "msg": "success", "data": ["taskId": "ghost-1"]]) }
        }
        let id = try await h.createMarket()
        #expect(id == "ghost-1")
        h.upstream.override.withLock { $0 = nil }
        // Just after its create, Kie may not show a task yet: not a conclusion.
        let young = await h.agent.sync(taskID: id)
        #expect(young.result == .stillRunning)
        #expect(young.detail?.contains("does not show the task yet") == true)
        h.clock.advance(byMillis: RecoveryCadence.defaultNotFoundGraceMillis)
        let report = await h.agent.sync(taskID: id)
        #expect(report.result == .notFound)
        #expect(await h.agent.sync(taskID: "never-seen").result == .unknownTask)
        #expect(metric(h, #"kiewatch_recovery_polls_total{model="kling-2.6/text-to-video",result="not_found"} 1"#))
        #expect(metric(h, #"kiewatch_recovery_polls_total{model="kling-2.6/text-to-video",result="still_running"} 1"#))
    }

    /// Kie's create and status are not instantly consistent: the first polls of a young task
    /// may answer 404. Recovery polls again on the cadence and recovers the task once Kie shows it.
    @Test func aTaskNotFoundInItsFirstSecondsIsPolledAgainAndRecovered() async throws {
        let h = try AgentHarness(
            simulator: { $0.dropCallbackRate = 1; $0.statusLag = .seconds(20) },
            agent: { $0.deadlines.configuredDefault = 5_000 })
        let id = try await h.createMarket()
        await run(h, seconds: 10 * 60, step: 1)
        let polls = try h.reader().db.rows("SELECT result, detail FROM recoveries ORDER BY id")
        let notYet = polls.prefix { $0[1].string?.hasPrefix("not found yet") == true }
        #expect(notYet.count >= 3)  // 404 at 5 s, 8 s, 11 s, ... until 20 s after the create
        #expect(notYet.allSatisfy { $0[0].string == "still_running" })
        #expect(!polls.contains { $0[0].string == "not_found" })
        #expect(h.simulator.snapshot().statusLagAnswers == notYet.count)
        let task = try #require(try h.task(id))
        #expect(task.state == .success && task.resultSource == .recovery && task.missed)
        #expect(task.recoveryGaveUpAt == nil)
        #expect(h.app.counts() == [id: 1])
        #expect(!metric(h, #"result="not_found""#))
    }

    /// Body code 501 (generation failed) or 408 (no result for over 10 minutes) on the status
    /// call is Kie saying the task ended: recovery relays the failure in the family's callback
    /// shape, counts the task failed and the webhook missed, and stops polling.
    @Test(arguments: [(false, 501), (false, 408), (true, 501), (true, 408)])
    func aStatusAnswerOf501Or408IsAFailureRelayedToTheApp(veo: Bool, code: Int) async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = veo ? try await h.createVeo() : try await h.createMarket()
        let model = veo ? "veo3_fast" : "kling-2.6/text-to-video"
        #expect(h.simulator.injectStatusFault(code, taskId: id))
        await run(h, seconds: 11 * 60)
        let task = try #require(try h.task(id))
        #expect(task.state == .fail)
        #expect(task.failCode == String(code))
        #expect(task.failMessage?.isEmpty == false)
        #expect(task.resultSource == .recovery && task.missed)
        #expect(h.app.counts() == [id: 1])
        let delivery = try #require(h.app.deliveries.first)
        #expect(delivery.headers["X-KieWatch-Recovered"] == "true")
        let envelope = try #require(delivery.json.flatMap(KieEnvelope.init(json:)))
        let decoded = try KieWire.callback(envelope, family: veo ? .veo : .market)
        #expect(decoded.taskId == id && decoded.state == .fail)
        #expect(decoded.failCode == String(code))
        if !veo {
            #expect(envelope.code == 501 && envelope.message == "Playground task failed.")
            #expect(envelope.data["state"] == "fail" && envelope.data["model"] == .string(model))
            #expect(envelope.data["failMsg"]?.stringValue == task.failMessage)
        }
        #expect(metric(h, #"kiewatch_tasks_finished_total{model="\#(model)",state="fail"} 1"#))
        #expect(metric(h, #"kiewatch_recovery_polls_total{model="\#(model)",result="recovered"} 1"#))
        #expect(metric(h, #"kiewatch_webhooks_missed_total{model="\#(model)"} 1"#))
        #expect(!metric(h, #"result="error""#))
        let polls = try h.reader().count(of: "recoveries")
        await run(h, seconds: 10 * 60, step: 30)
        #expect(try h.reader().count(of: "recoveries") == polls)  // concluded: no more polling
        #expect(h.app.counts() == [id: 1])
    }

    @Test func recoveryGivesUpAfterItsLimit() async throws {
        let h = try AgentHarness(agent: {
            $0.recoveryGiveUpMillis = 2 * 60_000
            $0.deadlines.configuredDefault = 60_000
        })
        h.upstream.override.withLock {
            $0 = ClosureHandler { request in
                if request.path == "/api/v1/jobs/createTask" {
                    return .json(["code": 200, "msg": "success", "data": ["taskId": "stuck-1"]])
                }
                return .json(["code": 200, "msg": "success", "data": ["taskId": "stuck-1", "state": "generating"]])
            }
        }
        let id = try await h.createMarket()
        await run(h, seconds: 10 * 60, step: 5)
        let task = try #require(try h.task(id))
        #expect(task.recoveryGaveUpAt != nil)
        #expect(task.nextPollAt == nil)
        let polls = try h.reader().count(of: "recoveries")
        await run(h, seconds: 10 * 60, step: 30)
        #expect(try h.reader().count(of: "recoveries") == polls)  // no more polling
        h.agent.refreshGauges()
        #expect(metric(h, #"kiewatch_tasks_stale{model="kling-2.6/text-to-video"} 1"#))  // still stale, for humans
    }

    @Test func pollingNeverExceedsTheRateUnder1000StaleTasks() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.recoveryRatePerSecond = 5 })
        for _ in 0..<1000 { _ = try await h.createMarket() }
        h.clock.advance(byMillis: 11 * 60_000)
        await h.simulator.tick()
        var pollTimes: [EpochMillis] = []
        for _ in 0..<200 {  // 20 s of virtual time in 100 ms steps
            h.clock.advance(byMillis: 100)
            let reports = await h.agent.runRecoveryOnce()
            pollTimes += reports.map { _ in h.clock.now() }
        }
        #expect(pollTimes.count >= 95 && pollTimes.count <= 101)
        // No one-second window holds more than 5 polls.
        for t in pollTimes {
            #expect(pollTimes.filter { $0 > t - 1000 && $0 <= t }.count <= 5)
        }
    }

    @Test func aRestartInTheMiddleOfRecoveryResumesIt() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.recoveryRatePerSecond = 1 })
        var ids: [String] = []
        for _ in 0..<10 { ids.append(try await h.createMarket()) }
        await run(h, seconds: 10 * 60 + 5, step: 5)
        let recoveredBefore = try h.reader().db.rows("SELECT count(*) FROM tasks WHERE recovered_at IS NOT NULL").first?[0].int64 ?? 0
        #expect(recoveredBefore < 10)
        try await h.restart()
        await run(h, seconds: 120, step: 1)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        #expect(metric(h, #"kiewatch_webhooks_missed_total{model="kling-2.6/text-to-video"} 10"#))  // restored + new
    }

    @Test func withoutAnAPIKeyRecoveryIsOff() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.apiKey = nil })
        let id = try await h.createMarket()
        await run(h, seconds: 20 * 60, step: 30)
        #expect(try h.task(id)?.state.isTerminal == false)
        #expect(await h.agent.sync(taskID: id).result == .recoveryOff)
        #expect(h.agent.statusSnapshot().recoveryEnabled == false)
        h.agent.refreshGauges()
        #expect(metric(h, #"kiewatch_tasks_stale{model="kling-2.6/text-to-video"} 1"#))
    }

    /// Stale means a callback was expected and has not come by the deadline: a polling app's
    /// task past the same deadline is in flight, not stale (the gauge agrees with `stale`).
    @Test func theStaleGaugeCountsOnlyTasksThatExpectACallback() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 }, agent: { $0.apiKey = nil })
        _ = try await h.createMarket()
        _ = try await h.createMarket(callback: false)
        _ = try await h.createMarket(model: "sora-2-text-to-video", callback: false)
        h.agent.refreshGauges()
        #expect(metric(h, #"kiewatch_tasks_inflight{model="kling-2.6/text-to-video"} 2"#))
        #expect(metric(h, #"kiewatch_tasks_stale{model="kling-2.6/text-to-video"} 0"#))
        await run(h, seconds: 20 * 60, step: 30)
        h.agent.refreshGauges()
        #expect(metric(h, #"kiewatch_tasks_inflight{model="kling-2.6/text-to-video"} 2"#))
        #expect(metric(h, #"kiewatch_tasks_stale{model="kling-2.6/text-to-video"} 1"#))
        #expect(metric(h, #"kiewatch_tasks_inflight{model="sora-2-text-to-video"} 1"#))
        #expect(metric(h, #"kiewatch_tasks_stale{model="sora-2-text-to-video"} 0"#))
        #expect(try h.reader().staleTasks(now: h.clock.now(), limit: 10).count == 1)  // the console's `stale`
    }

    @Test func tenPercentDroppedCallbacksAreAllRecoveredAndEveryResultArrivesOnce() async throws {
        let h = try AgentHarness(simulator: {
            $0.dropCallbackRate = 0.1
            $0.duplicateCallbackRate = 0.05
            $0.failureRate = 0.1
            $0.seed = 99
        })
        var ids: [String] = []
        let models = ["kling-2.6/text-to-video", "grok-imagine/text-to-video", "wan/2-6-text-to-video", "hailuo/02-text-to-video-pro"]
        for i in 0..<200 {
            ids.append(i % 5 == 4 ? try await h.createVeo() : try await h.createMarket(model: models[i % 4]))
        }
        await run(h, seconds: 20 * 60, step: 5)
        #expect(h.app.counts() == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        let dropped = h.simulator.snapshot().callbacksDropped
        #expect(dropped > 5)
        let missed = try h.reader().db.rows("SELECT count(*) FROM tasks WHERE missed = 1").first?[0].int64
        #expect(missed == Int64(dropped))
        let open = try h.reader().db.rows("SELECT count(*) FROM tasks WHERE state NOT IN ('success','fail')").first?[0].int64
        #expect(open == 0)
    }
}

@Suite struct TaskHealthTelemetryTests {
    @Test func learnedDeadlinesComeFromObservedDurations() async throws {
        let h = try AgentHarness(agent: { $0.deadlines = DeadlinePolicy.Settings() })
        for _ in 0..<25 { _ = try await h.createMarket(model: "wan/2-6-text-to-video") }
        await h.advance(seconds: 15 * 60)
        let choice = h.agent.deadline(for: "wan/2-6-text-to-video")
        #expect(choice.reason.hasPrefix("learned: p95"))
        #expect(h.agent.deadline(for: "never-seen").reason == "built-in default")
        // Rebuilt from the store after a restart.
        try await h.restart()
        #expect(h.agent.deadline(for: "wan/2-6-text-to-video") == choice)
    }

    @Test func creditsFromCallbacksAndChecks() async throws {
        let h = try AgentHarness(simulator: { $0.initialCredits = 5000; $0.legacyPayloadRate = 1 })
        _ = try await h.createMarket()
        await h.advance(seconds: 600)
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("kiewatch_credits_remaining "))
        #expect(text.contains(#"kiewatch_credits_consumed_total{model="kling-2.6/text-to-video"}"#))
        let balance = await h.agent.checkCredits()
        #expect(balance == Double(h.simulator.snapshot().creditsRemaining))
        try await h.agent.flush()
        #expect(try h.reader().meta("credits_remaining").flatMap(Double.init) == balance)
    }

    /// Two callbacks commit in order (900 then 800 credits left); their responses run in the
    /// opposite order, as two connections' loops may run them. The later balance stays.
    @Test func theLastCommittedBalanceWinsWhateverOrderTheResponsesRunIn() async throws {
        let h = try AgentHarness()
        let receiver = WebhookReceiver(context: h.agent.context)
        let responses = Mutex<[@Sendable () -> HTTPResponse]>([])
        let responder = InlineResponder { work in responses.withLock { $0.append(work) } }
        for (task, balance) in [("task-a", 900), ("task-b", 800)] {
            let body = #"{"code":200,"msg":"success","data":{"taskId":"\#(task)","state":"success","remainedCredits":\#(balance)}}"#
            receiver.receive(
                HTTPRequest(method: "POST", target: "/webhooks/kie?secret=\(AgentHarness.callbackSecret)",
                            body: Array(body.utf8)),
                family: .market, token: nil, responder: responder)
        }
        try await h.agent.flush()  // both committed, their completions run
        let pending = responses.withLock { $0 }
        #expect(pending.count == 2)
        for respond in pending.reversed() { #expect(respond().status == 200) }
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("kiewatch_credits_remaining 800\n"))
        try await h.agent.flush()
        #expect(try h.reader().meta("credits_remaining") == "800.0")
    }

    @Test func createRateUtilizationCountsTheLastTenSeconds() async throws {
        let h = try AgentHarness()
        for _ in 0..<15 { _ = try await h.createMarket() }
        h.agent.refreshGauges()
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("kiewatch_create_rate_limit_utilization 0.75"))
        h.clock.advance(byMillis: 10_001)
        h.agent.refreshGauges()
        #expect(String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
            .contains("kiewatch_create_rate_limit_utilization 0\n"))
    }

    @Test func countersSurviveARestart() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 0.5; $0.seed = 3 })
        for _ in 0..<10 { _ = try await h.createMarket() }
        await h.advance(seconds: 600)
        // Rejected deliveries have no model: counted under "unknown" before and after.
        let unauthorized = await h.agent.router.handle(
            HTTPRequest(method: "POST", target: "/webhooks/kie?secret=wrong", body: Array(#"{"code":200}"#.utf8)))
        #expect(unauthorized.status == 401)
        try await h.agent.flush()
        let before = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(before.contains(#"kiewatch_webhooks_received_total{model="unknown",result="unauthorized"} 1"#))
        try await h.restart()
        let after = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        for family in ["kiewatch_api_requests_total{", "kiewatch_tasks_created_total{", "kiewatch_webhooks_received_total{",
                       "kiewatch_relay_attempts_total{", "kiewatch_credits_consumed_total{"] {
            let b = before.split(separator: "\n").filter { $0.hasPrefix(family) }
            let a = after.split(separator: "\n").filter { $0.hasPrefix(family) }
            #expect(!b.isEmpty)
            #expect(a == b, "\(family)")
        }
    }
}

/// Counters restored at start come from running totals retention never touches, each with
/// its original `_created`.
@Suite struct CounterRestoreTests {
    static let restoredFamilies = [
        "kiewatch_api_requests", "kiewatch_tasks_created", "kiewatch_tasks_finished", "kiewatch_webhooks_received",
        "kiewatch_webhooks_missed", "kiewatch_recovery_polls", "kiewatch_relay_attempts", "kiewatch_credits_consumed",
    ]

    /// The restored counters' samples and `_created` samples, as OpenMetrics shows them.
    static func counters(_ h: AgentHarness) -> [String] {
        String(decoding: h.agent.metrics.registry.render(.openMetrics), as: UTF8.self)
            .split(separator: "\n").map(String.init)
            .filter { line in restoredFamilies.contains { line.hasPrefix($0 + "_total") || line.hasPrefix($0 + "_created") } }
    }

    static func isCreated(_ line: String) -> Bool {
        line.prefix { $0 != "{" && $0 != " " }.hasSuffix("_created")
    }

    @Test func aRestartAfterRetentionRestoresTheSameCountersAndCreatedTimes() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 0.5; $0.seed = 3; $0.legacyPayloadRate = 1 },
                                 agent: { $0.relayGiveUpMillis = 5 * 60_000 })
        h.app.down.store(true, ordering: .relaxed)  // failed and given-up relays too
        for _ in 0..<10 { _ = try await h.createMarket() }
        await h.runLoops(seconds: 1_200)
        _ = await h.agent.router.handle(
            HTTPRequest(method: "POST", target: "/webhooks/kie?secret=wrong", body: Array(#"{"code":200}"#.utf8)))
        try await h.agent.flush()
        let live = Self.counters(h).filter { !Self.isCreated($0) }
        for family in ["kiewatch_recovery_polls_total", "kiewatch_relay_attempts_total{result=\"gave_up\"}",
                       "kiewatch_webhooks_missed_total", "kiewatch_credits_consumed_total"] {
            #expect(live.contains { $0.hasPrefix(family) }, "\(family) was counted")
        }

        try await h.restart()
        let restored = Self.counters(h)
        #expect(restored.filter { !Self.isCreated($0) } == live)
        #expect(restored.filter(Self.isCreated).count == live.count, "every restored series has its _created")
        let start = Double(TestClock().now()) / 1000
        for line in restored where Self.isCreated(line) {
            // The time the total started, on the agent's clock: not the restart's.
            let created = Double(line.split(separator: " ").last ?? "") ?? 0
            #expect(created >= start && created <= start + 1_200, "\(line)")
        }

        h.clock.advance(byMillis: 15 * 86_400_000)
        await Agent.prune(h.agent.context)
        #expect(try h.reader().db.rows("SELECT count(*) FROM call_rollup").first?[0].int64 == 0, "retention ran")
        try await h.restart()
        #expect(Self.counters(h) == restored)
    }
}

@Suite struct PolledTasksTests {
    func run(_ h: AgentHarness, seconds: Int, step: Int = 5) async { await h.runLoops(seconds: seconds, step: step) }

    func poll(_ h: AgentHarness, _ id: String) async -> HTTPResponse {
        await h.agent.router.handle(
            HTTPRequest(method: "GET", target: "/api/v1/jobs/recordInfo?taskId=\(id)", headers: ["Authorization": "Bearer k"]))
    }

    @Test func aPolledTaskWhoseCallbackNeverComesIsStillAMissedWebhook() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        await run(h, seconds: 5 * 60)
        #expect(await poll(h, id).status == 200)  // the app learns the result itself
        #expect(try h.task(id)?.state.isTerminal == true)
        await run(h, seconds: 7 * 60)  // past the 10-minute deadline
        let task = try #require(try h.task(id))
        #expect(task.missed)
        #expect(task.recoveredAt != nil)
        #expect(h.app.counts() == [id: 1])
        #expect(h.app.deliveries.first?.headers["X-KieWatch-Recovered"] == "true")
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"kiewatch_webhooks_missed_total{model="kling-2.6/text-to-video"} 1"#))
        #expect(text.contains(#"kiewatch_tasks_finished_total{model="kling-2.6/text-to-video",state="success"} 1"#))
    }

    /// The app's own status call through the proxy meets the 501: the task is failed and
    /// counted once, and the failure callback the app asked for is still relayed.
    @Test func aStatusAnswerOf501ThroughTheProxyFailsTheTask() async throws {
        let h = try AgentHarness(simulator: { $0.dropCallbackRate = 1 })
        let id = try await h.createMarket()
        h.simulator.injectStatusFault(501, taskId: id)
        await run(h, seconds: 5 * 60)  // ended at Kie, before its deadline
        let answer = await poll(h, id)
        #expect(KieEnvelope(body: answer.body)?.code == 501)  // the app gets Kie's answer
        let task = try #require(try h.task(id))
        #expect(task.state == .fail && task.failCode == "501" && task.resultSource == .proxy)
        let finished = #"kiewatch_tasks_finished_total{model="kling-2.6/text-to-video",state="fail"} 1"#
        #expect(String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self).contains(finished))
        await run(h, seconds: 7 * 60)  // past the deadline: the callback is still owed
        #expect(h.app.counts() == [id: 1])
        let envelope = try #require(h.app.deliveries.first?.json.flatMap(KieEnvelope.init(json:)))
        #expect(try KieWire.callback(envelope, family: .market).state == .fail)
        #expect(String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self).contains(finished))
    }

    @Test func aPolledTaskStillGetsItsRealCallbackRelayed() async throws {
        let h = try AgentHarness(simulator: {
            $0.lateCallbackRate = 1
            $0.lateCallbackDelay = .seconds(60) ... .seconds(90)
        })
        let id = try await h.createMarket()
        let doneAt = try #require(h.simulator.task(id: id)).completeAt
        h.clock.set(doneAt + 1000)  // done at Kie; its callback is a minute late
        await h.simulator.tick()
        _ = await poll(h, id)
        #expect(try h.task(id)?.state.isTerminal == true)
        #expect(try h.task(id)?.callbacksReceived == 0)
        await run(h, seconds: 4 * 60)
        let task = try #require(try h.task(id))
        #expect(task.callbacksReceived == 1)
        #expect(!task.missed)
        #expect(h.app.counts() == [id: 1])
        #expect(h.app.deliveries.first?.headers["X-KieWatch-Recovered"] == nil)
        let text = String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"kiewatch_webhooks_received_total{model="kling-2.6/text-to-video",result="accepted"} 1"#))
        #expect(text.contains(#"kiewatch_tasks_finished_total{model="kling-2.6/text-to-video",state="success"} 1"#))
    }
}
