import Foundation
import KieWatchCore
import KieWatchTestSupport
import Testing

/// Issue 18's proof: at least 100,000 generated and mutated requests (seeded, deterministic,
/// bounded in time) through the real `kiewatch serve`, with the callback secret and the HMAC
/// key configured: absurd numbers in every numeric header and JSON field, NaN, infinities,
/// wrong types, deep nesting, invalid UTF-8, broken framing, bad secrets and signatures, and
/// proxied calls with absurd query values, mixed with valid deliveries for unknown tasks and
/// for tasks created through the proxy.
///
/// Afterwards the agent still runs and answers; no malformed or unauthenticated delivery got a
/// 2xx; every framing error was refused or closed; every delivery the decoder reads was answered
/// 200 and has its row; the rows match the 200s one for one; a normal create and delivery work;
/// and the agent stops cleanly with no crash in its log.
///
/// A failure prints the seed, the case's index and label, and the request bytes.
/// `KIEWATCH_FUZZ_SEED`, `KIEWATCH_FUZZ_COUNT` and `KIEWATCH_FUZZ_EXCLUDE` change the run
/// (see `FuzzSettings`); `KIEWATCH_E2E_KEEP=1` keeps the agent's log and database.
@Suite struct FuzzTests {
    static let secret = "fuzz-Secret_9x"
    static let hmacKey = "fuzz-hmac-key"
    static let apiKey = "good"

    @Test(.timeLimit(.minutes(5)))
    func theAgentSurvivesAHundredThousandHostileRequestsAndStoresEveryValidOne() async throws {
        let settings = FuzzSettings.fromEnvironment(seed: 20_260_618, count: FuzzSettings.defaultLiveCount)
        print("fuzz: \(settings)")
        var options = LiveStack.Options()
        // Kie's own callbacks are dropped: every delivery the agent sees is one of ours.
        options.simulatorArguments = ["--rate-limit", "off", "--drop-callbacks", "1", "--credits", "1000000000"]
        options.agentHasAPIKey = false  // no recovery polls or credit checks in the way
        options.callbackSecret = Self.secret
        options.webhookHMACKey = Self.hmacKey
        let stack = try await LiveStack.start(options)
        defer { stack.stop() }
        let started = ContinuousClock.now

        // Known tasks: one per first delivery of the plan.
        let plan = FuzzPlan(settings: settings)
        var corpus = FuzzCorpus(settings: settings, plan: plan, secret: Self.secret, hmacKey: Self.hmacKey, apiKey: Self.apiKey)
        let families = (0..<plan.validKnownCount).map { $0 % 3 == 2 ? TaskFamily.veo : .market }
            + Array(repeating: TaskFamily.market, count: plan.knownNumberCount)
        let created = try await FuzzTaskCreator.create(
            families: families, port: stack.agentPort, apiKey: Self.apiKey, callbackURL: stack.receiver.url)
        corpus.knownTasks = Array(created.prefix(plan.validKnownCount))
        corpus.numberTasks = Array(created.dropFirst(plan.validKnownCount))
        print("fuzz: \(created.count) tasks created through the proxy in \(ContinuousClock.now - started)")

        // The run.
        let runStarted = ContinuousClock.now
        let runner = FuzzRunner(
            corpus: corpus, port: stack.agentPort, workers: 8, batchSize: 24, deadline: runStarted + .seconds(200),
            readTimeout: .seconds(15))
        let reports = try await runner.run()
        let elapsed = ContinuousClock.now - runStarted
        let sent = reports.map(\.sent).reduce(0, +)
        print("fuzz: \(sent) requests in \(elapsed) (\(Int(Double(sent) / elapsed.seconds))/s); " + Self.statusSummary(reports))

        // The process survives. If it did not, find the case that killed it.
        let stopped = reports.compactMap(\.stopped)
        if stack.agent?.isRunning != true || !runner.agentAnswers() {
            let crash = Self.crashReport(in: stack.agent?.log ?? "")  // read before a restart rewrites the log
            let culprit = try await Self.isolateCrash(stack: stack, corpus: corpus, reports: reports)
            Issue.record(
                """
                the agent died during the fuzz run (\(stopped.first ?? "no worker noticed"))
                \(culprit)
                --- agent log, from the crash ---
                \(crash)
                """)
            return
        }
        #expect(stopped.isEmpty, "the run did not complete: \(stopped)")
        #expect(sent >= settings.count, "only \(sent) of \(settings.count) requests were answered or judged")

        // Every case was answered as it must be.
        let failures = reports.flatMap(\.failures).sorted { $0.index < $1.index }
        let failureCount = reports.map(\.failureCount).reduce(0, +)
        if failureCount > 0 {
            var byClass: [String: Int] = [:]
            for report in reports { byClass.merge(report.failuresByClass, uniquingKeysWith: +) }
            let classes = byClass.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            let first = failures.prefix(15).map { "  \($0)" }.joined(separator: "\n")
            Issue.record("\(failureCount) cases were not handled as they must be (by class: \(classes)); the first:\n\(first)")
        }

        // Every acknowledged delivery is stored, and there is one stored delivery per 200.
        let acknowledged = reports.flatMap(\.acknowledged)
        let stored = try Self.storedDeliveries(stack)
        let missing = Set(acknowledged.map(Self.hex)).subtracting(stored.keys)
        #expect(missing.isEmpty, "\(missing.count) deliveries answered 200 have no row, e.g. task ids (hex) \(missing.prefix(5))")
        let storedCount = stored.values.reduce(0, +)
        #expect(storedCount == acknowledged.count, "\(acknowledged.count) deliveries answered 200, \(storedCount) stored as received")

        // A normal create and delivery afterwards, and the agent's other paths.
        try Self.checkNormalTraffic(stack)

        // A clean stop, and no crash in the log.
        let agent = try #require(stack.agent)
        stack.stopAgent()
        #expect(agent.process.terminationReason == .exit && agent.process.terminationStatus == 0,
                "the agent did not stop cleanly: \(agent.process.terminationReason) \(agent.process.terminationStatus)")
        let log = agent.log
        for marker in ["Fatal error", "runtime failure", "Backtracing", " crashed:"] {
            #expect(!log.contains(marker), "the agent's log mentions '\(marker)'")
        }
        print("fuzz: done in \(ContinuousClock.now - started) (seed \(settings.seed))")
    }

    // MARK: Checks

    static func statusSummary(_ reports: [FuzzWorkerReport]) -> String {
        var statuses: [Int: Int] = [:]
        for report in reports { statuses.merge(report.statuses, uniquingKeysWith: +) }
        let closes = reports.map(\.silentCloses).reduce(0, +)
        return "statuses " + statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            + ", \(closes) closed without an answer"
    }

    /// What the runtime said when the agent died: the failure line and the first frames of the
    /// thread that crashed (or the log's tail when there is no crash report).
    static func crashReport(in log: String) -> String {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
        let failure = lines.first { $0.contains("Fatal error") || $0.contains("runtime failure") }
        guard let crashed = lines.firstIndex(where: { $0.contains(" crashed:") }) else {
            return failure.map(String.init) ?? String(log.suffix(2_500))
        }
        return ([failure ?? ""] + lines[crashed..<min(lines.count, crashed + 14)]).joined(separator: "\n")
    }

    static func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02X", $0) }.joined()
    }

    /// Stored deliveries the agent answered 200 for, per task id (as SQLite's `hex()`), counted.
    static func storedDeliveries(_ stack: LiveStack) throws -> [String: Int] {
        // One row per result (the console's sql stops at 1,000 rows), the ids joined.
        let result = try stack.console(
            "sql SELECT result, group_concat(hex(task_id)) FROM webhooks WHERE result IN ('accepted', 'duplicate', 'late', 'unknown_task') GROUP BY result",
            json: true)
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let rows = object["rows"] as? [[Any]]
        else {
            throw LiveError("\(result.commandLine) exited \(result.status): \(result.output.prefix(2_000))")
        }
        var counts: [String: Int] = [:]
        for row in rows {
            guard row.count == 2, let ids = row[1] as? String else { continue }
            print("fuzz: stored as \(row[0]): \(ids.split(separator: ",").count)")
            for id in ids.split(separator: ",") { counts[String(id), default: 0] += 1 }
        }
        return counts
    }

    /// `/healthz`, a create through the proxy, its signed delivery (stored as accepted), and a scrape.
    static func checkNormalTraffic(_ stack: LiveStack) throws {
        #expect(try LiveHTTP.request("GET", port: stack.agentPort, path: "/healthz").status == 200)
        let taskID = try stack.createTask(model: "kling-2.6/text-to-video")
        let now = String(Int64(Date().timeIntervalSince1970))
        let signature = CaseGenerator.sign(taskID: taskID, timestamp: now, key: hmacKey)
        let body = "{\"code\":200,\"msg\":\"ok\",\"data\":{\"taskId\":\"\(taskID)\",\"state\":\"success\",\"resultJson\":\"{\\\"resultUrls\\\":[\\\"https://cdn.example/v.mp4\\\"]}\"}}"
        let response = try LiveHTTP.request(
            "POST", port: stack.agentPort, path: "/webhooks/kie?secret=\(secret)",
            headers: ["Content-Type": "application/json", "X-Webhook-Timestamp": now, "X-Webhook-Signature": signature],
            body: Data(body.utf8))
        #expect(response.status == 200, "a normal delivery after the run: HTTP \(response.status) \(response.text)")
        let rows = try stack.sqlNumber("SELECT count(*) FROM webhooks WHERE task_id = '\(taskID)' AND result = 'accepted'")
        #expect(rows == 1, "the normal delivery after the run is stored as accepted")
        _ = try stack.scrape()
    }

    /// Restarts the agent and replays the cases that were in flight when it died, one at a time,
    /// until one kills it again: that case, with its bytes.
    static func isolateCrash(stack: LiveStack, corpus: FuzzCorpus, reports: [FuzzWorkerReport]) async throws -> String {
        let suspects = Array(Set(reports.flatMap(\.suspects))).sorted()
        guard !suspects.isEmpty else { return "no case was in flight; nothing to replay" }
        stack.stopAgent()
        try await stack.startAgent()
        let replay = FuzzRunner(
            corpus: corpus, port: stack.agentPort, workers: 1, batchSize: 1, deadline: .now + .seconds(60), readTimeout: .seconds(15))
        let cases = suspects.map { corpus.makeCase($0, now: FuzzRunner.unixNow()) }
        guard let culprit = replay.isolateCrash(cases) else {
            return "replaying the \(suspects.count) cases in flight one at a time did not kill it again: \(suspects.prefix(40))"
        }
        let failure = FuzzFailure(
            index: culprit.index, label: culprit.label, problem: "this request alone kills the agent", bytes: culprit.bytes,
            seed: corpus.settings.seed)
        return "the case that kills it: \(failure)"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
