import Foundation

/// A real Prometheus (`/usr/bin/prometheus`, Debian's package) on 127.0.0.1 with its TSDB in a
/// temporary directory, scraping one kiewatch agent every second and evaluating the given rule
/// file every second (sending its alerts to an Alertmanager when given one); queried through
/// its HTTP API.
final class LivePrometheus {
    let process: LiveProcess
    let port: Int
    let directory: LiveTemporaryDirectory

    private init(process: LiveProcess, port: Int, directory: LiveTemporaryDirectory) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// The `prometheus.yml` used: job `kiewatch` scraping `target` every second, `ruleFile`
    /// loaded, alerts sent to the Alertmanager on `alertmanagerPort` (127.0.0.1) if given.
    static func configuration(target: String, ruleFile: URL, alertmanagerPort: Int? = nil) -> String {
        let alerting = alertmanagerPort.map { port in
            """
            alerting:
              alertmanagers:
                - static_configs:
                    - targets: ['127.0.0.1:\(port)']

            """
        } ?? ""
        return """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - \(ruleFile.path)
        scrape_configs:
          - job_name: kiewatch
            static_configs:
              - targets: ['\(target)']

        """ + alerting
    }

    /// Starts Prometheus and waits until `/-/ready` answers 200. Exemplar storage is on so the
    /// exemplars of the OpenMetrics scrape can be queried back.
    static func start(scraping target: String, ruleFile: URL, alertmanagerPort: Int? = nil) async throws -> LivePrometheus {
        guard let binary = ExternalTools.prometheus else { throw LiveError("prometheus not found; apt-get install prometheus") }
        let directory = try LiveTemporaryDirectory("kw-prom")
        do {
            let config = directory.file("prometheus.yml")
            try configuration(target: target, ruleFile: ruleFile, alertmanagerPort: alertmanagerPort)
                .write(to: config, atomically: true, encoding: .utf8)
            let data = directory.file("data")
            let log = directory.file("prometheus.log")
            let (process, port) = try await LiveProcess.startListening { port in
                let process = try await LiveProcess.start(
                    name: "prometheus", executable: binary,
                    arguments: [
                        "--config.file=\(config.path)", "--storage.tsdb.path=\(data.path)",
                        "--web.listen-address=127.0.0.1:\(port)", "--web.enable-lifecycle",
                        "--enable-feature=exemplar-storage",
                    ],
                    logFile: log, readyLine: "Server is ready to receive web requests")
                return process
            }
            let prometheus = LivePrometheus(process: process, port: port, directory: directory)
            try await LiveWait.ready("prometheus", port: port)
            return prometheus
        } catch {
            directory.remove()
            throw error
        }
    }

    func stop() {
        process.stop()
        directory.remove()
    }

    // MARK: HTTP API

    /// An API answer: `status` is `success` or `error`.
    struct Answer {
        var status: String
        var data: Any?
        var errorType: String?
        var error: String?
        var httpStatus: Int
    }

    /// `GET /api/v1/<path>?<query>`.
    func api(_ path: String, _ query: [(String, String)] = []) throws -> Answer {
        let encoded = query.map { "\($0.0)=\(LiveHTTP.queryValue($0.1))" }.joined(separator: "&")
        let response = try LiveHTTP.request("GET", port: port, path: "/api/v1/\(path)" + (encoded.isEmpty ? "" : "?\(encoded)"))
        let json = try response.json()
        return Answer(
            status: json["status"] as? String ?? "?", data: json["data"], errorType: json["errorType"] as? String,
            error: json["error"] as? String, httpStatus: response.status)
    }

    /// One instant-vector element of a query result.
    struct Element {
        var labels: [String: String]
        var value: Double
    }

    /// `/api/v1/query`: the answer as is (for expressions whose status is under test).
    func queryAnswer(_ expr: String) throws -> Answer { try api("query", [("query", expr)]) }

    /// `/api/v1/query` of an expression expected to succeed: its vector (a scalar becomes one
    /// element without labels).
    func query(_ expr: String) throws -> [Element] {
        let answer = try queryAnswer(expr)
        guard answer.status == "success", let data = answer.data as? [String: Any] else {
            throw LiveError("query \(expr): \(answer.errorType ?? "") \(answer.error ?? "") (HTTP \(answer.httpStatus))")
        }
        switch data["resultType"] as? String {
        case "vector":
            return (data["result"] as? [[String: Any]] ?? []).map { element in
                Element(labels: element["metric"] as? [String: String] ?? [:], value: Self.sampleValue(element["value"]))
            }
        case "scalar":
            return [Element(labels: [:], value: Self.sampleValue(data["result"]))]
        default:
            throw LiveError("query \(expr): unexpected result type \(data["resultType"] ?? "nil")")
        }
    }

    /// The single value of `expr` (e.g. a `sum(...)`), nil when the vector is empty.
    func value(_ expr: String) throws -> Double? { try query(expr).first?.value }

    /// `[timestamp, "value"]` → value.
    static func sampleValue(_ pair: Any?) -> Double {
        guard let pair = pair as? [Any], pair.count == 2, let text = pair[1] as? String else { return .nan }
        return Double(text) ?? .nan
    }

    /// Active targets of `/api/v1/targets`.
    func activeTargets() throws -> [[String: Any]] {
        let answer = try api("targets", [("state", "active")])
        return (answer.data as? [String: Any])?["activeTargets"] as? [[String: Any]] ?? []
    }

    /// Active alerts of `/api/v1/alerts` (`labels`, `annotations`, `state` pending|firing).
    func alerts() throws -> [[String: Any]] {
        let answer = try api("alerts")
        return (answer.data as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
    }

    /// Every rule of `/api/v1/rules` with its group name (`health`, `lastError`, `name`, `type`).
    func rules() throws -> [(group: String, rule: [String: Any])] {
        let answer = try api("rules")
        let groups = (answer.data as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        return groups.flatMap { group in
            (group["rules"] as? [[String: Any]] ?? []).map { (group["name"] as? String ?? "?", $0) }
        }
    }

    /// `/api/v1/query_exemplars` over the last `seconds`: each series' labels and its exemplars' labels.
    func exemplars(_ expr: String, lastSeconds seconds: Double = 600) throws -> [(series: [String: String], exemplars: [[String: String]])] {
        let now = Date().timeIntervalSince1970
        let answer = try api("query_exemplars", [("query", expr), ("start", String(now - seconds)), ("end", String(now + 60))])
        guard answer.status == "success" else {
            throw LiveError("query_exemplars \(expr): \(answer.errorType ?? "") \(answer.error ?? "")")
        }
        return (answer.data as? [[String: Any]] ?? []).map { entry in
            let series = entry["seriesLabels"] as? [String: String] ?? [:]
            let exemplars = (entry["exemplars"] as? [[String: Any]] ?? []).map { $0["labels"] as? [String: String] ?? [:] }
            return (series, exemplars)
        }
    }
}
