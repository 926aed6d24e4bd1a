import Foundation
import Testing

/// A real Prometheus (Debian's `prometheus`, loopback, temp dir) scraping an agent that proxies
/// the simulator: the target is up, the series carry the values the store holds, the
/// webhook-degraded alert goes pending/firing, and every dashboard query evaluates.
@Suite("Prometheus against a live agent")
struct PrometheusLiveTests {
    /// The two models of the alert test; both get a 2 s deadline from the config file.
    static let models = ["kling-2.6/text-to-video", "sora-2-text-to-video"]
    static let alertTasks = 40

    /// `up{job="kiewatch"} == 1` for the stack's agent, through `/api/v1/targets` and a query.
    static func awaitTargetUp(_ prometheus: LivePrometheus, _ stack: LiveStack) async throws {
        let target = "127.0.0.1:\(stack.agentPort)"
        _ = try await LiveWait.until("Prometheus to scrape \(target) successfully", timeout: .seconds(20)) { (note: inout String) -> Bool? in
            let targets = try prometheus.activeTargets()
            let ours = targets.first { ($0["labels"] as? [String: String])?["instance"] == target }
            note = "targets: \(targets.map { "\($0["scrapeUrl"] ?? "?") \($0["health"] ?? "?") \($0["lastError"] ?? "")" })"
            guard let ours, ours["health"] as? String == "up",
                (ours["labels"] as? [String: String])?["job"] == "kiewatch",
                try prometheus.value("up{job=\"kiewatch\",instance=\"\(target)\"}") == 1
            else { return nil }
            return true
        }
    }

    /// Every rule Prometheus loaded has been evaluated without error.
    static func expectRulesHealthy(_ prometheus: LivePrometheus) async throws {
        let rules = try await LiveWait.until("every rule evaluated", timeout: .seconds(10)) { note in
            let rules = try prometheus.rules()
            let unevaluated = rules.filter { $0.rule["health"] as? String == "unknown" }
            note = "\(unevaluated.count) of \(rules.count) not evaluated yet"
            return unevaluated.isEmpty && !rules.isEmpty ? rules : nil
        }
        for (group, rule) in rules {
            #expect(
                rule["health"] as? String == "ok",
                "\(group)/\(rule["name"] ?? "?"): \(rule["health"] ?? "?") \(rule["lastError"] ?? "")")
        }
    }

    // MARK: Alerts

    /// The rule file with the webhook-degraded alert's windows shortened so it can go pending
    /// and fire within a test. Only durations change; expressions, thresholds and the volume
    /// guard (`>= 5` finished tasks) stay as written:
    ///   - every range `[15m]` → `[1m]` (the recording rules `kiewatch:tasks_finished:increase15m`
    ///     and `kiewatch:webhook_missed_ratio:rate15m` keep their names)
    ///   - every `for: 15m` → `for: 5s`
    static let alertSubstitutions: [(original: String, replacement: String)] = [("[15m]", "[1m]"), ("for: 15m", "for: 5s")]

    static func shortenedRules() throws -> String {
        var text = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8)
        for (original, replacement) in alertSubstitutions {
            let parts = text.components(separatedBy: original)
            guard parts.count > 1 else {
                throw LiveError("\(ExternalTools.ruleFile.path) has no '\(original)' any more: update the alert test's substitutions")
            }
            text = parts.joined(separator: replacement)
        }
        return text
    }

    @Test(
        "dropped callbacks: the target is up, created/missed counts match the store, KieWebhookDeliveryDegraded goes pending/firing",
        .requiresPrometheus, .timeLimit(.minutes(2)))
    func webhookDegradedAlert() async throws {
        let rules = try Self.shortenedRules()
        #expect(rules.contains("kiewatch:webhook_missed_ratio:rate15m > 0.2"), "the alert's threshold is not what this test assumes")
        #expect(rules.contains("kiewatch:tasks_finished:increase15m >= 5"), "the volume guard is not what this test assumes")

        var options = LiveStack.Options(simulatorArguments: ["--drop-callbacks", "0.5", "--rate-limit", "off"])
        options.agentConfig = "deadline.default = 2s\n" + Self.models.map { "deadline.\($0) = 2s\n" }.joined()
        let stack = try await LiveStack.start(options)
        defer { stack.stop() }
        let rulesFile = stack.directory.file("kiewatch.short.rules.yml")
        try rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        let prometheus = try await LivePrometheus.start(scraping: "127.0.0.1:\(stack.agentPort)", ruleFile: rulesFile)
        defer { prometheus.stop() }
        try await Self.awaitTargetUp(prometheus, stack)

        // ~40 tasks over ~8 s, alternating models, so the rates see a ramp rather than one step.
        for index in 0..<Self.alertTasks {
            try stack.createTask(model: Self.models[index % Self.models.count])
            try await Task.sleep(for: .milliseconds(200))
        }
        _ = try await LiveWait.until("all \(Self.alertTasks) tasks terminal in the store", timeout: .seconds(30)) { note in
            let done = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE state IN ('success', 'fail')")
            note = "\(done)"
            return done == Double(Self.alertTasks) ? true : nil
        }
        let missed = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE missed = 1")
        #expect(missed > 0, "the simulator dropped no callback: nothing to alert on")

        // Prometheus' view equals the store's, once the last scrape has caught up.
        let job = "job=\"kiewatch\",instance=\"127.0.0.1:\(stack.agentPort)\""
        _ = try await LiveWait.until("Prometheus to see the store's counts", timeout: .seconds(15)) { note in
            let created = try prometheus.value("sum(kiewatch_tasks_created_total{\(job)})")
            let seenMissed = try prometheus.value("sum(kiewatch_webhooks_missed_total{\(job)})")
            note = "created \(created ?? -1) (want \(Self.alertTasks)), missed \(seenMissed ?? -1) (want \(missed))"
            return created == Double(Self.alertTasks) && seenMissed == missed ? true : nil
        }
        for model in Self.models {
            let inStore = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE missed = 1 AND model = '\(model)'")
            let created = try prometheus.value("kiewatch_tasks_created_total{\(job),model=\"\(model)\"}")
            let seen = try prometheus.value("kiewatch_webhooks_missed_total{\(job),model=\"\(model)\"}") ?? 0
            #expect(created == Double(Self.alertTasks / Self.models.count), "\(model): created")
            #expect(seen == inStore, "\(model): missed in Prometheus \(seen), in the store \(inStore)")
        }

        // The alert, per model, for at least one of the two models (each drops about half).
        let alert = try await LiveWait.until("KieWebhookDeliveryDegraded pending or firing", timeout: .seconds(45), interval: .milliseconds(500)) {
            note in
            let alerts = try prometheus.alerts()
            note = "active alerts: \(alerts.map { "\(($0["labels"] as? [String: String])?["alertname"] ?? "?") \($0["state"] ?? "?")" })"
                + ", missed ratio: \(try prometheus.query("kiewatch:webhook_missed_ratio:rate15m").map { "\($0.labels["model"] ?? "?")=\($0.value)" })"
                + ", finished: \(try prometheus.query("kiewatch:tasks_finished:increase15m").map { "\($0.labels["model"] ?? "?")=\($0.value)" })"
            return alerts.first { alert in
                (alert["labels"] as? [String: String])?["alertname"] == "KieWebhookDeliveryDegraded"
                    && ["pending", "firing"].contains(alert["state"] as? String ?? "")
            }
        }
        let labels = alert["labels"] as? [String: String] ?? [:]
        #expect(Self.models.contains(labels["model"] ?? ""), "alert labels: \(labels)")
        #expect(labels["severity"] == "ticket" && labels["job"] == "kiewatch", "alert labels: \(labels)")
        let summary = (alert["annotations"] as? [String: String])?["summary"] ?? ""
        #expect(summary.contains(labels["model"] ?? "<no model>"), "summary names the model: \(summary)")

        // `for: 5s` passes while the 1m window still holds the drops: it fires.
        _ = try await LiveWait.until("ALERTS{alertname=\"KieWebhookDeliveryDegraded\",alertstate=\"firing\"}", timeout: .seconds(20)) {
            note in
            let firing = try prometheus.query("ALERTS{alertname=\"KieWebhookDeliveryDegraded\",alertstate=\"firing\"}")
            note = "\(firing.count) firing"
            return firing.isEmpty ? nil : true
        }
        try await Self.expectRulesHealthy(prometheus)
    }

    // MARK: Dashboard and untouched rules

    @Test(
        "the untouched rule file evaluates cleanly, exemplars are stored, every dashboard query evaluates",
        .requiresPrometheus, .timeLimit(.minutes(2)))
    func dashboardQueries() async throws {
        // Some failed tasks too, so the failure-ratio panels and rules have series.
        let stack = try await LiveStack.start(
            .init(simulatorArguments: ["--drop-callbacks", "0.3", "--fail-rate", "0.2", "--rate-limit", "off"]))
        defer { stack.stop() }
        let prometheus = try await LivePrometheus.start(scraping: "127.0.0.1:\(stack.agentPort)", ruleFile: ExternalTools.ruleFile)
        defer { prometheus.stop() }
        try await Self.awaitTargetUp(prometheus, stack)

        // Nothing of the stack listens beyond loopback.
        for process in [stack.simulator, stack.agent, prometheus.process].compactMap({ $0 }) {
            let addresses = try process.listeningAddresses()
            #expect(!addresses.isEmpty, "\(process.name) listens on nothing?")
            for address in addresses where !address.hasPrefix("127.0.0.1:") {
                Issue.record("\(process.name) listens on \(address), not on 127.0.0.1")
            }
        }

        let traffic = try ExpositionLiveTests.Traffic.drive(stack)
        _ = try await ExpositionLiveTests.settledScrape(stack, traffic: traffic)
        let instance = "127.0.0.1:\(stack.agentPort)"
        _ = try await LiveWait.until("Prometheus to see every task finished", timeout: .seconds(15)) { note in
            let finished = try prometheus.value("sum(kiewatch_tasks_finished_total{instance=\"\(instance)\"})")
            note = "\(finished ?? -1) of \(traffic.tasks.count)"
            return finished == Double(traffic.tasks.count) ? true : nil
        }

        // Prometheus scrapes OpenMetrics (it asks for it first) and keeps the exemplars.
        let exemplars = try await LiveWait.until("exemplars of kiewatch_task_duration_seconds_bucket", timeout: .seconds(10)) { note in
            let found = try prometheus.exemplars("kiewatch_task_duration_seconds_bucket").flatMap(\.exemplars)
            note = "\(found.count) exemplars"
            return found.isEmpty ? nil : found
        }
        for labels in exemplars {
            #expect(traffic.ids.contains(labels["task_id"] ?? ""), "exemplar labels \(labels) name no created task")
        }

        // The dashboard's variables: the instance list holds our agent, the model list our models.
        let instances = try prometheus.query("up{job=\"kiewatch\"}").compactMap { $0.labels["instance"] }
        #expect(instances == [instance])
        let models = Set(try prometheus.query("kiewatch_tasks_created_total{instance=~\"\(instance)\"}").compactMap { $0.labels["model"] })
        #expect(models == Set(traffic.tasks.map(\.model)))

        // Every expression, with the variables selecting this agent and all models.
        let escaped = instance.replacingOccurrences(of: ".", with: "\\\\.")
        let expressions = try ExternalTools.dashboardExpressions(substituting: ["instance": escaped])
        #expect(expressions.count >= 20)
        var empty: [String] = []
        for expression in expressions {
            let answer = try prometheus.queryAnswer(expression.expr)
            #expect(
                answer.status == "success",
                "\(expression): \(answer.errorType ?? "") \(answer.error ?? "") (HTTP \(answer.httpStatus))")
            // A vector's elements, or a scalar's [time, value]: empty only for a vector without series.
            if ((answer.data as? [String: Any])?["result"] as? [Any])?.isEmpty ?? true { empty.append("\(expression)") }
        }
        // Traffic went through the paths the overview shows: most panels have something to draw.
        #expect(empty.count * 2 <= expressions.count, "\(empty.count) of \(expressions.count) dashboard queries returned nothing:\n\(empty.joined(separator: "\n"))")
        try await Self.expectRulesHealthy(prometheus)
    }
}
