import Foundation
import Testing
import KieWatchMetrics
import KieWatchTestSupport

private let promtoolPath = "/usr/bin/promtool"
private let promtoolAvailable = FileManager.default.isExecutableFile(atPath: promtoolPath)

/// Checks our text output with Prometheus's own parser and linter.
struct PromtoolTests {
    @Test(.enabled(if: promtoolAvailable, "install promtool: apt-get install prometheus"))
    func promtoolAcceptsTheTextFormat() async throws {
        let registry = MetricRegistry()
        registry.registerProcessMetrics()
        let models = LabelValueLimiter(limit: 3)
        let requests = registry.counter(
            "kiewatch_api_requests_total", help: "Kie API calls by endpoint, model and code.",
            labelNames: ["endpoint", "model", "code"], limiters: ["model": models]
        )
        for (index, model) in ["veo3", "kling \"2.1\"", "a\\b\nc", "sora", "runway"].enumerated() {
            requests.labels("create_task", model, "200").increment(by: index + 1)
        }
        let duration = registry.histogram(
            "kiewatch_api_request_duration_seconds", help: "Kie API call latency.",
            labelNames: ["endpoint", "model"], buckets: .apiLatency, unit: "seconds", limiters: ["model": models]
        )
        duration.labels("create_task", "veo3").observe(0.0421, exemplar: ["task_id": "t1"])
        duration.labels("record_info", "veo3").observe(7)
        registry.gauge("kiewatch_build_info", help: "Build information.", labelNames: ["version"])
            .labels("1.0.0").set(1)
        registry.gaugeFunction("kiewatch_relay_queue_depth", help: "Relays waiting.") { 3 }

        let (status, output) = try await runPromtool(input: registry.render(.prometheusText))
        #expect(status == 0, "promtool: \(output)")
        #expect(output.isEmpty, "promtool: \(output)")
    }

    private func runPromtool(input: [UInt8]) async throws -> (Int32, String) {
        let result = try await ToolRunner.run(URL(fileURLWithPath: promtoolPath), ["check", "metrics"], input: input)
        return (result.status, result.output)
    }

}
