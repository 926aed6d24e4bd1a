import Foundation
import Testing

/// Alerts reach a person: a real Prometheus evaluates the rule file against the real agent
/// while the simulator drops callbacks, a real Alertmanager (Debian's
/// `prometheus-alertmanager`) routes what fires to a webhook receiver in the test, and the
/// inhibition rules of alerts/README.md act on the live alerts. All on 127.0.0.1 in temp dirs.
@Suite("Alertmanager: alerts reach a person")
struct AlertmanagerLiveTests {
    /// Every task goes to this model, whose callbacks the simulator drops.
    static let model = "kling-2.6/text-to-video"
    static let tasks = 40
    static let receiverName = "on-call"

    // MARK: Configuration under test

    /// The rule file with every `for:` shortened to 3 s so that alerts fire within the test.
    /// Nothing else changes: expressions, windows (`[15m]`, `[1h]`...), thresholds and volume
    /// guards are as written. A fresh Prometheus holds only the test's seconds of samples, so
    /// the windows' rates are the ratios of what the test drove.
    static func rulesWithShortFor() throws -> String {
        let original = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"(?m)^(\s+)for: \S+$"#)
        let range = NSRange(original.startIndex..., in: original)
        guard pattern.numberOfMatches(in: original, range: range) > 0 else {
            throw LiveError("\(ExternalTools.ruleFile.path) has no `for:` any more: update rulesWithShortFor")
        }
        return pattern.stringByReplacingMatches(in: original, range: range, withTemplate: "$1for: 3s")
    }

    /// The `alertmanager.yml` block of alerts/README.md (the one with a route, receivers and
    /// inhibition rules), as written there.
    static func readmeAlertmanagerConfiguration() throws -> String {
        let readme = try String(contentsOf: ExternalTools.alertsReadme, encoding: .utf8)
        let blocks = readme.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "\n```").first ?? "" }
        guard let block = blocks.first(where: { $0.contains("\nroute:") && $0.contains("\nreceivers:") && $0.contains("\ninhibit_rules:") })
        else {
            throw LiveError("\(ExternalTools.alertsReadme.path): no ```yaml block with route:, receivers: and inhibit_rules:")
        }
        return block + "\n"
    }

    /// The README's `inhibit_rules:` section (the last of its block), unchanged.
    static func readmeInhibitRules() throws -> String {
        let configuration = try readmeAlertmanagerConfiguration()
        guard let start = configuration.range(of: "\ninhibit_rules:\n") else {
            throw LiveError("the README's alertmanager.yml has no top-level inhibit_rules:")
        }
        return String(configuration[configuration.index(after: start.lowerBound)...])
    }

    /// Alertmanager for the test: everything to one webhook receiver, grouped like the README's
    /// route but without its waits, and the README's inhibition rules as they are.
    static func alertmanagerConfiguration(receiver url: String) throws -> String {
        """
        route:
          receiver: \(receiverName)
          group_by: [alertname, instance, model]
          group_wait: 1s
          group_interval: 1s
          repeat_interval: 1h
        receivers:
          - name: \(receiverName)
            webhook_configs:
              - url: \(url)
                send_resolved: false

        """ + (try readmeInhibitRules())
    }

    @Test("rulesWithShortFor changes only the for: durations")
    func shortenedRulesKeepExpressions() throws {
        let original = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8).components(separatedBy: "\n")
        let shortened = try Self.rulesWithShortFor().components(separatedBy: "\n")
        #expect(original.count == shortened.count)
        for (before, after) in zip(original, shortened) where before != after {
            #expect(before.trimmingCharacters(in: .whitespaces).hasPrefix("for: "), "changed: \(before)")
            #expect(after.trimmingCharacters(in: .whitespaces) == "for: 3s", "changed to: \(after)")
        }
        #expect(zip(original, shortened).contains { $0 != $1 }, "no for: was shortened")
    }

    // MARK: Live

    @Test(
        "dropped callbacks: KieWebhookDeliveryDegraded and the callback SLO page reach the receiver with model, summary and runbook; KieWatchDown inhibits them",
        .requiresAlertmanager, .timeLimit(.minutes(3)))
    func degradedWebhooksReachAPerson() async throws {
        let receiver = try LiveAlertReceiver()
        defer { receiver.stop() }
        // Six callbacks in ten never sent; recovery polls (the agent has KIE_API_KEY) find
        // those tasks terminal after the 2 s deadline and count them missed.
        var options = LiveStack.Options(simulatorArguments: ["--drop-callbacks", "0.6", "--rate-limit", "off"])
        options.agentConfig = "deadline.default = 2s\ndeadline.\(Self.model) = 2s\n"
        let stack = try await LiveStack.start(options)
        defer { stack.stop() }
        let alertmanager = try await LiveAlertmanager.start(configuration: try Self.alertmanagerConfiguration(receiver: receiver.url))
        defer { alertmanager.stop() }
        let rulesFile = stack.directory.file("kiewatch.short-for.rules.yml")
        try Self.rulesWithShortFor().write(to: rulesFile, atomically: true, encoding: .utf8)
        let prometheus = try await LivePrometheus.start(
            scraping: "127.0.0.1:\(stack.agentPort)", ruleFile: rulesFile, alertmanagerPort: alertmanager.port)
        defer { prometheus.stop() }
        try await PrometheusLiveTests.awaitTargetUp(prometheus, stack)
        for address in try alertmanager.process.listeningAddresses() where !address.hasPrefix("127.0.0.1:") {
            Issue.record("alertmanager listens on \(address), not on 127.0.0.1")
        }

        // ~40 tasks over ~4 s, so the rates see a ramp rather than one step.
        for _ in 0..<Self.tasks {
            try stack.createTask(model: Self.model)
            try await Task.sleep(for: .milliseconds(100))
        }

        // Prometheus fires, Alertmanager groups and posts: both alerts arrive for the model.
        let instance = "127.0.0.1:\(stack.agentPort)"
        let wanted = ["KieWebhookDeliveryDegraded", "KieCallbackDeliverySLOBurnFast"]
        let arrived = try await LiveWait.until("\(wanted) notifications at the receiver", timeout: .seconds(90), interval: .milliseconds(500)) {
            note -> [String: LiveAlertReceiver.Notification.Alert]? in
            let firing = try receiver.firingAlerts()
            let byName = Dictionary(firing.map { ($0.labels["alertname"] ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
            note = "received: \(byName.keys.sorted()); in Prometheus: "
                + (try prometheus.alerts().map { "\(($0["labels"] as? [String: String])?["alertname"] ?? "?") \($0["state"] ?? "?")" })
                    .joined(separator: ", ")
                + "; missed ratio: \(try prometheus.query("kiewatch:webhook_missed_ratio:rate15m").map(\.value))"
            return wanted.allSatisfy { byName[$0] != nil } ? byName : nil
        }
        #expect(try receiver.notifications().allSatisfy { $0.receiver == Self.receiverName })

        let degraded = try #require(arrived["KieWebhookDeliveryDegraded"])
        #expect(degraded.labels["model"] == Self.model, "labels: \(degraded.labels)")
        #expect(degraded.labels["instance"] == instance && degraded.labels["job"] == "kiewatch", "labels: \(degraded.labels)")
        #expect(degraded.labels["severity"] == "ticket", "labels: \(degraded.labels)")
        let summary = degraded.annotations["summary"] ?? ""
        #expect(summary.hasPrefix("\(Self.model): ") && summary.hasSuffix("% of finished tasks had no webhook"), "summary: \(summary)")
        #expect((degraded.annotations["description"] ?? "").contains(instance), "description: \(degraded.annotations)")
        let runbook = degraded.annotations["runbook"] ?? ""
        #expect(runbook == "kiewatch console -c 'missed 1h'", "runbook: \(runbook)")

        let page = try #require(arrived["KieCallbackDeliverySLOBurnFast"])
        #expect(page.labels["model"] == Self.model && page.labels["slo"] == "callback_delivery", "labels: \(page.labels)")
        #expect(page.labels["severity"] == "page", "labels: \(page.labels)")
        #expect((page.annotations["summary"] ?? "").hasPrefix("\(Self.model): "), "summary: \(page.annotations)")
        #expect((page.annotations["description"] ?? "").contains("against an objective of 99% delivered"), "description: \(page.annotations)")
        #expect(page.annotations["runbook"] == "kiewatch console -c 'missed 1h'", "runbook: \(page.annotations)")

        // The runbook line works on the agent's host: it names the model whose callbacks were lost.
        let command = String(runbook.dropFirst("kiewatch console -c '".count).dropLast())
        let answer = try stack.console(command)
        #expect(answer.status == 0 && answer.output.contains(Self.model), "\(answer.commandLine):\n\(answer.output)")

        // The agent goes away: KieWatchDown reaches the receiver, and the README's inhibition
        // holds back the per-model alerts of that agent, still firing on the windows' old samples.
        stack.stopAgent()
        _ = try await LiveWait.until("KieWatchDown at the receiver, per-model alerts inhibited", timeout: .seconds(60), interval: .milliseconds(500)) {
            note -> Bool? in
            let down = try receiver.firingAlerts().contains { $0.labels["alertname"] == "KieWatchDown" && $0.labels["instance"] == instance }
            let held = try alertmanager.alerts().filter { wanted.contains($0.labels["alertname"] ?? "") }
            note = "KieWatchDown received: \(down); in Alertmanager: "
                + held.map { "\($0.labels["alertname"] ?? "?") \($0.state) inhibitedBy \($0.inhibitedBy)" }.joined(separator: ", ")
            let inhibited = wanted.allSatisfy { name in
                held.contains { $0.labels["alertname"] == name && $0.state == "suppressed" && !$0.inhibitedBy.isEmpty }
            }
            return down && inhibited ? true : nil
        }
        try await PrometheusLiveTests.expectRulesHealthy(prometheus)
    }

    // MARK: The README's configuration

    @Test(
        "the README's alertmanager.yml passes amtool check-config; pages go to PagerDuty and Slack, tickets to Slack",
        .requiresAmtool)
    func readmeConfigurationIsValid() async throws {
        let amtool = try #require(ExternalTools.amtool)
        let directory = try LiveTemporaryDirectory("kw-amtool")
        defer { directory.remove() }
        let file = directory.file("alertmanager.yml")
        try Self.readmeAlertmanagerConfiguration().write(to: file, atomically: true, encoding: .utf8)

        let check = try await ExternalTools.run(amtool, ["check-config", file.path])
        #expect(check.status == 0, "\(check.commandLine) exited \(check.status):\n\(check.output)")
        let inhibitRules = try Self.readmeInhibitRules().components(separatedBy: "- source_matchers:").count - 1
        #expect(inhibitRules > 0 && check.output.contains(" \(inhibitRules) inhibit rules"), "\(check.output)")
        #expect(check.output.contains(" 2 receivers"), "\(check.output)")

        let routes: [(labels: [String], receivers: String)] = [
            (["alertname=KieWebhooksStopped", "severity=page", "model=veo3"], "pagerduty-kiewatch,slack-kiewatch"),
            (["alertname=KieWebhookDeliveryDegraded", "severity=ticket", "model=veo3"], "slack-kiewatch"),
            (["alertname=Anything", "severity=info"], "slack-kiewatch"),
        ]
        for route in routes {
            let result = try await ExternalTools.run(
                amtool, ["config", "routes", "test", "--config.file=\(file.path)"] + route.labels)
            // amtool also warns on stderr that --config.file overrides --alertmanager.url.
            let answer = result.output.split(separator: "\n").filter { !$0.hasPrefix("Warning:") }.joined(separator: "\n")
            #expect(result.status == 0 && answer == route.receivers, "\(result.commandLine):\n\(result.output)")
        }
    }
}
