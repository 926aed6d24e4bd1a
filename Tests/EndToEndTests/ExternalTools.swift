import Foundation
import KieWatchTestSupport
import Testing

/// Locates external binaries (promtool) and the repository's monitoring files, runs tools, and
/// extracts the dashboard's PromQL, so end-to-end tests share one way of doing each.
enum ExternalTools {
    /// The package root, found from this file's path (`<root>/Tests/EndToEndTests/ExternalTools.swift`).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // EndToEndTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let alertsDirectory = packageRoot.appendingPathComponent("alerts", isDirectory: true)
    static let ruleFile = alertsDirectory.appendingPathComponent("kiewatch.rules.yml")
    static let ruleTestsDirectory = alertsDirectory.appendingPathComponent("tests", isDirectory: true)
    static let alertsReadme = alertsDirectory.appendingPathComponent("README.md")
    static let dashboardFile = packageRoot.appendingPathComponent("dashboards/kiewatch-overview.json")

    /// `promtool`, from `$PROMTOOL` if set, else the first executable on `$PATH` (then the
    /// Debian location); nil when absent, which makes the tests that need it skip.
    static let promtool: URL? = locate("promtool", override: "PROMTOOL")

    /// `prometheus`, found like `promtool` (override: `$PROMETHEUS`).
    static let prometheus: URL? = locate("prometheus", override: "PROMETHEUS")

    /// Alertmanager: Debian's `prometheus-alertmanager`, else upstream's `alertmanager`
    /// (override: `$ALERTMANAGER`).
    static let alertmanager: URL? =
        locate("prometheus-alertmanager", override: "ALERTMANAGER") ?? locate("alertmanager", override: "ALERTMANAGER")

    /// `amtool`, Alertmanager's command line (same package; override: `$AMTOOL`).
    static let amtool: URL? = locate("amtool", override: "AMTOOL")

    static func locate(_ name: String, override variable: String) -> URL? {
        let environment = ProcessInfo.processInfo.environment
        let fileManager = FileManager.default
        if let explicit = environment[variable], !explicit.isEmpty {
            return fileManager.isExecutableFile(atPath: explicit) ? URL(fileURLWithPath: explicit) : nil
        }
        let path = environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if fileManager.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    typealias ToolResult = ToolRunner.Result

    /// Runs `executable` with `arguments` in `directory` and waits for it to exit (off the
    /// cooperative thread pool); `input` is a file given as its standard input.
    static func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil, input: URL? = nil) async throws
        -> ToolResult
    {
        let bytes = try input.map { [UInt8](try Data(contentsOf: $0)) }
        return try await ToolRunner.run(executable, arguments, input: bytes, in: directory)
    }

    // MARK: Dashboard expressions

    /// One PromQL query of the dashboard, with where it comes from for failure messages.
    struct DashboardExpression: Sendable, CustomStringConvertible {
        var panelID: Int
        var panelTitle: String
        var refID: String
        /// The expression as stored in the dashboard, with Grafana template variables.
        var template: String
        /// The expression with template variables replaced: plain PromQL.
        var expr: String

        var description: String { "panel \(panelID) \"\(panelTitle)\" target \(refID): \(expr)" }
    }

    /// Values that make every dashboard query plain PromQL selecting everything: the
    /// multi-value variables become match-all regexes, Grafana's interval macros fixed durations.
    static let defaultDashboardVariables: [String: String] = [
        "datasource": "prometheus",
        "instance": ".*",
        "model": ".*",
        "__rate_interval": "1m",
        "__interval": "1m",
        "__range": "1h",
        "__range_s": "3600",
        "__range_ms": "3600000",
    ]

    /// Every `expr` of every panel target in the dashboard (rows' nested panels included), in
    /// panel order, with template variables substituted: `variables` override
    /// `defaultDashboardVariables` (e.g. `["instance": "127\\.0\\.0\\.1:9464"]` to query one agent).
    static func dashboardExpressions(substituting variables: [String: String] = [:]) throws -> [DashboardExpression] {
        let values = defaultDashboardVariables.merging(variables) { _, given in given }
        var expressions: [DashboardExpression] = []
        for panel in try dashboardPanels() {
            let id = (panel["id"] as? NSNumber)?.intValue ?? -1
            let title = panel["title"] as? String ?? ""
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let template = target["expr"] as? String ?? ""
                expressions.append(DashboardExpression(
                    panelID: id,
                    panelTitle: title,
                    refID: target["refId"] as? String ?? "?",
                    template: template,
                    expr: substituteTemplateVariables(in: template, with: values)
                ))
            }
        }
        return expressions
    }

    /// The dashboard JSON model as Foundation objects.
    static func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: dashboardFile)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DashboardFileError.notAnObject(dashboardFile.path)
        }
        return object
    }

    /// Top-level panels followed by the panels nested in (collapsed) rows.
    static func dashboardPanels() throws -> [[String: Any]] {
        let top = try dashboard()["panels"] as? [[String: Any]] ?? []
        return top.flatMap { panel in [panel] + (panel["panels"] as? [[String: Any]] ?? []) }
    }

    enum DashboardFileError: Error, CustomStringConvertible {
        case notAnObject(String)
        var description: String {
            switch self {
            case .notAnObject(let path): "\(path): the top level is not a JSON object"
            }
        }
    }

    /// Replaces Grafana variables (`$name`, `${name}`, `${name:format}`) found in `variables`;
    /// unknown ones are left in place so callers can detect them.
    static func substituteTemplateVariables(in text: String, with variables: [String: String]) -> String {
        var result = ""
        var index = text.startIndex
        func isNameCharacter(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            let afterDollar = text.index(after: index)
            if afterDollar < text.endIndex, text[afterDollar] == "{",
                let close = text[afterDollar...].firstIndex(of: "}")
            {
                let inside = text[text.index(after: afterDollar)..<close]
                let name = String(inside.split(separator: ":", maxSplits: 1).first ?? "")
                if let value = variables[name] {
                    result += value
                } else {
                    result += text[index...close]
                }
                index = text.index(after: close)
            } else {
                var end = afterDollar
                while end < text.endIndex, isNameCharacter(text[end]) { end = text.index(after: end) }
                let name = String(text[afterDollar..<end])
                if let value = variables[name] {
                    result += value
                } else {
                    result += text[index..<end]
                }
                index = end
            }
        }
        return result
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips a test, saying how to get Prometheus, when it is not installed.
    static var requiresPrometheus: Self {
        .enabled(if: ExternalTools.prometheus != nil, "prometheus not found; install it: apt-get install prometheus")
    }

    /// Skips a test, saying how to get promtool, when it is not installed.
    static var requiresPromtool: Self {
        .enabled(if: ExternalTools.promtool != nil, "promtool not found; install it: apt-get install prometheus")
    }

    /// Skips a test, saying how to get them, when Prometheus or Alertmanager is not installed.
    static var requiresAlertmanager: Self {
        .enabled(
            if: ExternalTools.prometheus != nil && ExternalTools.alertmanager != nil,
            "prometheus or prometheus-alertmanager not found; install them: apt-get install prometheus prometheus-alertmanager")
    }

    /// Skips a test, saying how to get amtool, when it is not installed.
    static var requiresAmtool: Self {
        .enabled(if: ExternalTools.amtool != nil, "amtool not found; install it: apt-get install prometheus-alertmanager")
    }
}
