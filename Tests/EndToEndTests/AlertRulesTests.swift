import Foundation
import Testing

/// The alert rules in `alerts/` load into Prometheus and behave as their promtool unit tests say.
@Suite("Alert rules")
struct AlertRulesTests {
    @Test("promtool check rules accepts alerts/kiewatch.rules.yml", .requiresPromtool)
    func ruleFileIsValid() async throws {
        let promtool = try #require(ExternalTools.promtool)
        let result = try await ExternalTools.run(
            promtool, ["check", "rules", "kiewatch.rules.yml"], in: ExternalTools.alertsDirectory)
        #expect(result.status == 0, "\(result.commandLine) exited \(result.status):\n\(result.output)")
    }

    @Test("promtool unit tests pass", .requiresPromtool, arguments: Self.unitTestFiles())
    func unitTestsPass(file: String) async throws {
        let promtool = try #require(ExternalTools.promtool)
        // From alerts/, as the README says; rule_files in the tests are relative to the test file.
        let result = try await ExternalTools.run(
            promtool, ["test", "rules", "tests/\(file)"], in: ExternalTools.alertsDirectory)
        #expect(result.status == 0, "\(result.commandLine) exited \(result.status):\n\(result.output)")
    }

    @Test("there are promtool unit test files")
    func unitTestFilesExist() {
        #expect(!Self.unitTestFiles().isEmpty, "no *.yml in \(ExternalTools.ruleTestsDirectory.path)")
    }

    @Test("every alert is exercised by a promtool unit test that expects it to fire")
    func everyAlertIsTested() throws {
        let alerts = try Self.alerts().map(\.name)
        #expect(!alerts.isEmpty)
        let tests = try Self.unitTestFiles()
            .map { try String(contentsOf: ExternalTools.ruleTestsDirectory.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n")
        for alert in alerts {
            let expectations = Self.expectationLines(for: alert, in: tests)
            #expect(expectations.contains("exp_alerts:"), "\(alert): no promtool test expects it to fire")
            #expect(expectations.contains("exp_alerts: []"), "\(alert): no promtool test expects it to stay silent")
        }
    }

    /// The line after each `alertname: <alert>` in the tests: `exp_alerts:` followed by a
    /// list (it fires) or `exp_alerts: []` (it stays silent).
    static func expectationLines(for alert: String, in tests: String) -> [String] {
        tests.components(separatedBy: "alertname: \(alert)\n").dropFirst().map { rest in
            String(rest.prefix { !$0.isNewline }).trimmingCharacters(in: .whitespaces)
        }
    }

    @Test("endpoint matchers in the rules select every family's creates (or status calls), by the agent's table")
    func endpointMatchersCoverEveryFamily() throws {
        let text = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8)
        let rules = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
            .joined(separator: "\n")
        DashboardTests.expectFamilyClasses(
            DashboardTests.endpointMatchers(in: rules), in: "kiewatch.rules.yml", needing: [.creates])
    }

    @Test("every alert has a severity, summary, description and a console runbook")
    func everyAlertIsActionable() throws {
        for alert in try Self.alerts() {
            let body = alert.body
            #expect(
                ["page", "ticket", "info"].contains { body.contains("severity: \($0)\n") },
                "\(alert.name): severity must be page, ticket or info")
            #expect(body.contains("summary: "), "\(alert.name): no summary annotation")
            #expect(body.contains("description: "), "\(alert.name): no description annotation")
            #expect(
                body.contains("runbook: \"kiewatch console -c '"),
                "\(alert.name): the runbook annotation must name a kiewatch console command")
        }
    }

    // MARK: Reading the files

    static func unitTestFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ExternalTools.ruleTestsDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted()
    }

    struct Alert {
        var name: String
        /// The rule's lines up to the next rule or group.
        var body: String
    }

    /// The alerting rules of the rule file, split on `- alert:` (the file's own layout; promtool
    /// checks the YAML itself).
    static func alerts() throws -> [Alert] {
        let text = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8)
        var alerts: [Alert] = []
        for chunk in text.components(separatedBy: "- alert: ").dropFirst() {
            let name = String(chunk.prefix { !$0.isNewline && !$0.isWhitespace })
            let body = chunk.components(separatedBy: "\n      - ").first ?? chunk
            let untilNextGroup = body.components(separatedBy: "\n  - name:").first ?? body
            alerts.append(Alert(name: name, body: untilNextGroup))
        }
        return alerts
    }
}
