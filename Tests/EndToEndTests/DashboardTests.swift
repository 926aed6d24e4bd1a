import Foundation
import KieWatchCore
import Testing

/// `dashboards/kiewatch-overview.json` imports into Grafana 10/11 and queries only metrics that
/// kiewatch exports, with valid PromQL.
@Suite("Grafana dashboard")
struct DashboardTests {
    /// The metric contract (the README's "Metrics"); histograms by base name.
    static let contractMetrics: Set<String> = [
        "kiewatch_api_requests_total", "kiewatch_tasks_created_total", "kiewatch_tasks_finished_total",
        "kiewatch_webhooks_received_total", "kiewatch_webhooks_missed_total", "kiewatch_recovery_polls_total",
        "kiewatch_relay_attempts_total", "kiewatch_credits_consumed_total", "kiewatch_store_errors_total",
        "kiewatch_api_request_duration_seconds", "kiewatch_task_duration_seconds",
        "kiewatch_webhook_delay_seconds", "kiewatch_relay_duration_seconds",
        "kiewatch_tasks_inflight", "kiewatch_tasks_stale", "kiewatch_relay_queue_depth",
        "kiewatch_relay_oldest_pending_seconds", "kiewatch_credits_remaining",
        "kiewatch_create_rate_limit_utilization", "kiewatch_last_webhook_received_timestamp_seconds",
        "kiewatch_store_bytes", "kiewatch_build_info", "kiewatch_relay_paused", "kiewatch_relay_circuit_open",
    ]
    static let histogramMetrics: Set<String> = [
        "kiewatch_api_request_duration_seconds", "kiewatch_task_duration_seconds",
        "kiewatch_webhook_delay_seconds", "kiewatch_relay_duration_seconds",
    ]

    @Test("dashboard metadata: schemaVersion, uid, title")
    func metadata() throws {
        let dashboard = try ExternalTools.dashboard()
        let schemaVersion = try #require(Self.int(dashboard["schemaVersion"]), "schemaVersion missing")
        #expect((36...41).contains(schemaVersion), "schemaVersion \(schemaVersion) is not one Grafana 10/11 writes")
        #expect(dashboard["uid"] as? String == "kiewatch-overview")
        #expect(dashboard["title"] as? String == "kiewatch overview")
        #expect(dashboard["time"] is [String: Any], "time range missing")
    }

    @Test("template variables: datasource, instance, model")
    func variables() throws {
        let list = try #require(
            (try ExternalTools.dashboard()["templating"] as? [String: Any])?["list"] as? [[String: Any]],
            "templating.list missing")
        let byName = Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })

        let datasource = try #require(byName["datasource"], "no datasource variable")
        #expect(datasource["type"] as? String == "datasource")
        #expect(datasource["query"] as? String == "prometheus")

        for name in ["instance", "model"] {
            let variable = try #require(byName[name], "no \(name) variable")
            #expect(variable["type"] as? String == "query", "\(name)")
            #expect(Self.datasourceUID(variable["datasource"]) == "${datasource}", "\(name) must query ${datasource}")
            #expect(variable["multi"] as? Bool == true, "\(name) must be multi-value")
            #expect(variable["includeAll"] as? Bool == true, "\(name) must include All")
            #expect(variable["allValue"] as? String == ".*", "\(name): All must be a match-all regex")
        }
        let modelQuery = Self.variableQuery(byName["model"])
        #expect(modelQuery.hasPrefix("label_values(kiewatch_tasks_created_total"), "model query: \(modelQuery)")
        #expect(modelQuery.hasSuffix(", model)"), "model query: \(modelQuery)")
        // Variables are resolved in order: instance must exist before model uses it.
        let order = list.compactMap { $0["name"] as? String }
        #expect(order.firstIndex(of: "instance")! < order.firstIndex(of: "model")!)
    }

    @Test("panels: unique ids, grid positions, ${datasource}, non-empty queries")
    func panels() throws {
        let panels = try ExternalTools.dashboardPanels()
        #expect(panels.count >= 20, "only \(panels.count) panels")
        var ids: Set<Int> = []
        for panel in panels {
            let title = panel["title"] as? String ?? "<untitled>"
            let type = panel["type"] as? String ?? ""
            let id = try #require(Self.int(panel["id"]), "\(title): no numeric id")
            #expect(ids.insert(id).inserted, "\(title): duplicate panel id \(id)")
            #expect(!title.isEmpty && title != "<untitled>", "panel \(id) has no title")
            #expect(Self.datasourceUID(panel["datasource"]) == "${datasource}", "\(title): datasource must be ${datasource}")

            let grid = try #require(panel["gridPos"] as? [String: Any], "\(title): no gridPos")
            let (h, w, x, y) = (Self.int(grid["h"]), Self.int(grid["w"]), Self.int(grid["x"]), Self.int(grid["y"]))
            #expect(h != nil && w != nil && x != nil && y != nil, "\(title): gridPos needs h, w, x, y")
            if let w, let x { #expect(w > 0 && x >= 0 && x + w <= 24, "\(title): gridPos outside the 24 columns") }

            let targets = panel["targets"] as? [[String: Any]] ?? []
            if type == "row" {
                #expect(targets.isEmpty, "\(title): a row has no queries")
                continue
            }
            #expect(["timeseries", "stat", "gauge", "bargauge", "table"].contains(type), "\(title): panel type \(type)")
            #expect(!targets.isEmpty, "\(title): no targets")
            var refIDs: Set<String> = []
            for target in targets {
                let refID = target["refId"] as? String ?? ""
                #expect(!refID.isEmpty && refIDs.insert(refID).inserted, "\(title): refId '\(refID)' missing or repeated")
                let expr = (target["expr"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(!expr.isEmpty, "\(title) \(refID): empty expr")
                #expect(Self.datasourceUID(target["datasource"]) == "${datasource}", "\(title) \(refID): datasource")
            }
        }
    }

    @Test("every query filters by the selected agents, and per-model metrics by the selected models")
    func queriesHonourVariables() throws {
        for expression in try ExternalTools.dashboardExpressions() {
            for selector in Self.selectors(in: expression.template) {
                #expect(selector.matchers.contains("instance=~\"$instance\""), "\(expression): \(selector.name) ignores $instance")
                let perModel = ["kiewatch_api_", "kiewatch_task", "kiewatch_webhooks_", "kiewatch_webhook_delay",
                                "kiewatch_recovery_", "kiewatch_credits_consumed", "kiewatch:"]
                if perModel.contains(where: selector.name.hasPrefix) {
                    #expect(selector.matchers.contains("model=~\"$model\""), "\(expression): \(selector.name) ignores $model")
                }
            }
        }
    }

    @Test("every metric is in the README's contract, a recording rule, up or process_*")
    func metricNamesAreKnown() throws {
        let recorded = try Self.recordingRules()
        #expect(!recorded.isEmpty, "no recording rules found in \(ExternalTools.ruleFile.path)")
        for expression in try ExternalTools.dashboardExpressions() {
            let names = Self.metricNames(in: expression.expr)
            #expect(!names.isEmpty, "\(expression): no metric found")
            for name in names {
                let known = Self.contractMetrics.contains(name)
                    || Self.histogramMetrics.contains { name == $0 + "_bucket" || name == $0 + "_sum" || name == $0 + "_count" }
                    || recorded.contains(name) || name == "up" || name.hasPrefix("process_")
                #expect(known, "\(expression): unknown metric \(name)")
            }
        }
    }

    @Test("endpoint matchers select every family's creates or every family's status calls")
    func endpointMatchersCoverEveryFamily() throws {
        let matchers = try ExternalTools.dashboardExpressions().flatMap { Self.endpointMatchers(in: $0.template) }
        Self.expectFamilyClasses(matchers, in: "dashboard", needing: [.creates, .statuses])
    }

    @Test("the README documents every endpoint label and every task family with its webhook path")
    func readmeCoversEveryFamily() throws {
        let readme = try String(contentsOf: ExternalTools.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        // A plain Bool each: a failed expectation on `readme.contains` would print the README.
        func documented(_ text: String) -> Bool { readme.contains(text) }
        for endpoint in KieEndpoint.allCases {
            let found = documented("`\(endpoint.rawValue)`")
            #expect(found, "README: endpoint label \(endpoint.rawValue) not documented")
        }
        for family in TaskFamily.all {
            let row = documented("| `\(family.rawValue)`")
            #expect(row, "README: no Task families row for \(family.rawValue)")
            let fullPath = documented("`\(family.webhookPath)`")
            #expect(fullPath, "README: webhook path \(family.webhookPath) not documented")
            let segment = family.webhookPath.split(separator: "/").last.map { documented("`\($0)`") } ?? false
            #expect(segment, "README: HTTP paths do not list \(family.webhookPath)")
        }
    }

    @Test("template variables all resolve")
    func variablesResolve() throws {
        for expression in try ExternalTools.dashboardExpressions() {
            #expect(!expression.expr.contains("$"), "\(expression): unresolved variable")
        }
    }

    @Test("every query is valid PromQL (promtool check rules)", .requiresPromtool)
    func queriesAreValidPromQL() async throws {
        let promtool = try #require(ExternalTools.promtool)
        let expressions = try ExternalTools.dashboardExpressions()
        var yaml = "groups:\n  - name: dashboard-queries\n    rules:\n"
        for expression in expressions {
            yaml += "      - record: dashboard:panel\(expression.panelID)_\(expression.refID)\n"
            yaml += "        expr: |\n"
            for line in expression.expr.split(separator: "\n", omittingEmptySubsequences: false) {
                yaml += "          \(line)\n"
            }
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiewatch-dashboard-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("dashboard-queries.rules.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)

        let result = try await ExternalTools.run(promtool, ["check", "rules", file.path])
        #expect(
            result.status == 0,
            "\(result.commandLine) exited \(result.status):\n\(result.output)\nrules (record name = panel id and refId):\n\(yaml)")
        if result.status == 0 {
            // promtool reports how many rules it parsed: all of them, or the file was cut short.
            #expect(result.output.contains("\(expressions.count) rules found"), "\(result.output)")
        }
    }

    // MARK: Endpoint matchers

    /// A matcher on the `endpoint` label: `=~`/`!~` with an RE2 pattern (PromQL anchors it at
    /// both ends), or `=`/`!=` with one value.
    struct EndpointMatcher: CustomStringConvertible {
        var op: String
        var value: String

        var description: String { "endpoint\(op)\"\(value)\"" }
        var isRegex: Bool { op == "=~" || op == "!~" }

        /// Whether a series with this `endpoint` value is selected.
        func selects(_ label: String) throws -> Bool {
            let matches: Bool
            if isRegex {
                let regex = try NSRegularExpression(pattern: "^(?:\(value))$")
                matches = regex.firstMatch(in: label, range: NSRange(label.startIndex..., in: label)) != nil
            } else {
                matches = label == value
            }
            return op.hasPrefix("!") ? !matches : matches
        }
    }

    /// The `endpoint` matchers of a PromQL expression (as written in the rule file or the
    /// dashboard's JSON model, once decoded: no escaped quotes in a label pattern).
    static func endpointMatchers(in expr: String) -> [EndpointMatcher] {
        let pattern = try! NSRegularExpression(pattern: #"\bendpoint\s*(=~|!~|!=|=)\s*"([^"]*)""#)
        return pattern.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)).map { match in
            EndpointMatcher(
                op: String(expr[Range(match.range(at: 1), in: expr)!]), value: String(expr[Range(match.range(at: 2), in: expr)!]))
        }
    }

    /// The kinds of call a regex matcher may select: all of them, never a few families.
    enum FamilyClass: String, CaseIterable {
        case creates, statuses
        var labels: Set<String> {
            switch self {
            case .creates: Set(KieEndpoint.allCases.filter(\.createsTask).map(\.rawValue))
            case .statuses: Set(KieEndpoint.allCases.filter(\.reportsStatus).map(\.rawValue))
            }
        }
    }

    /// Every regex matcher selects, of the agent's endpoint labels, exactly every family's
    /// creates or exactly every family's status calls (so no family is left out, and a family
    /// added to the table is covered or this fails); a one-value matcher names a label that
    /// exists. `needing`: the classes `file` must select somewhere.
    static func expectFamilyClasses(_ matchers: [EndpointMatcher], in file: String, needing: Set<FamilyClass>) {
        let labels = KieEndpoint.allCases.map(\.rawValue)
        var seen: Set<FamilyClass> = []
        for matcher in matchers {
            guard matcher.isRegex else {
                #expect(labels.contains(matcher.value), "\(file): \(matcher) names no endpoint label the agent has")
                continue
            }
            do {
                let selected = Set(try labels.filter { try matcher.selects($0) })
                let match = FamilyClass.allCases.first { $0.labels == selected }
                #expect(
                    match != nil,
                    "\(file): \(matcher) selects \(selected.sorted()), not every family's creates (\(FamilyClass.creates.labels.sorted())) nor every family's status calls (\(FamilyClass.statuses.labels.sorted()))")
                if let match { seen.insert(match) }
            } catch {
                Issue.record("\(file): \(matcher) is no valid regex: \(error)")
            }
        }
        for missing in needing.subtracting(seen) {
            Issue.record("\(file): no endpoint matcher selects every family's \(missing.rawValue)")
        }
    }

    // MARK: Helpers

    static func int(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let int as Int: int
        default: nil
        }
    }

    static func datasourceUID(_ value: Any?) -> String? {
        if let object = value as? [String: Any] { return object["uid"] as? String }
        return value as? String
    }

    static func variableQuery(_ variable: [String: Any]?) -> String {
        if let query = variable?["query"] as? [String: Any] { return query["query"] as? String ?? "" }
        return variable?["query"] as? String ?? ""
    }

    /// Names defined by `record:` in the rule file.
    static func recordingRules() throws -> Set<String> {
        let text = try String(contentsOf: ExternalTools.ruleFile, encoding: .utf8)
        return Set(text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("- record:") else { return nil }
            return trimmed.dropFirst("- record:".count).trimmingCharacters(in: .whitespaces)
        })
    }

    struct Selector {
        var name: String
        var matchers: String
    }

    /// Metric selectors written `name{matchers}` (every selector in the dashboard carries matchers).
    static func selectors(in expr: String) -> [Selector] {
        var selectors: [Selector] = []
        var rest = Substring(expr)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let before = rest[..<open]
            let name = String(before.reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }.reversed())
            if !name.isEmpty { selectors.append(Selector(name: name, matchers: String(rest[open...close]))) }
            rest = rest[rest.index(after: close)...]
        }
        return selectors
    }

    /// Metric names in a PromQL expression: identifiers left after removing strings, label
    /// matchers, range and subquery brackets and grouping clauses, that are not functions,
    /// keywords or numbers.
    static func metricNames(in expr: String) -> Set<String> {
        var text = expr
        let removals = [
            #""(?:[^"\\]|\\.)*""#,  // string literals
            #"\{[^}]*\}"#,  // label matchers
            #"\[[^\]]*\]"#,  // ranges and subqueries
            #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#,  // grouping clauses
        ]
        for pattern in removals {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        let keywords: Set<String> = [
            "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "offset", "bool", "inf", "nan", "Inf", "NaN",
        ]
        var names: Set<String> = []
        let identifier = try! NSRegularExpression(pattern: #"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?"#)
        let range = NSRange(text.startIndex..., in: text)
        for match in identifier.matches(in: text, range: range) {
            guard match.range(at: 1).location == NSNotFound else { continue }  // a function call
            let word = String(text[Range(match.range, in: text)!])
            if keywords.contains(word) { continue }
            // Skip exponents and unit suffixes glued to numbers, such as 1e3.
            if let start = Range(match.range, in: text)?.lowerBound, start > text.startIndex,
                text[text.index(before: start)].isNumber || text[text.index(before: start)] == "."
            {
                continue
            }
            names.insert(word)
        }
        return names
    }
}
