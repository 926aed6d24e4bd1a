import KieWatchCore

/// One benchmark scenario: a name, what it measures and its target, and how to run it.
struct Scenario: Sendable {
    let name: String
    let summary: String
    let run: @Sendable () async throws -> Void
}

/// `kiewatch-bench [SCENARIO...]`: runs the named scenarios (all by default) and prints figures.
enum BenchmarkRunner {
    static let scenarios: [Scenario] = [
        Scenario(name: "ingest", summary: "store ingest through the writer vs raw batched SQLite (target >= 50%)") {
            try runStoreIngestBenchmark(rows: 500_000)
        },
        Scenario(name: "metrics", summary: "/metrics render with 10,000 series (target <= 10 ms)") {
            runMetricsRenderBenchmark(series: 10_000)
        },
        Scenario(
            name: "webhook",
            summary: "durably acknowledged webhooks/s, 64 connections (>= 15,000); scrape impact (<= 5%); agent memory"
        ) {
            try await runWebhookBenchmark(deliveries: 60_000, connections: 64)
        },
        Scenario(name: "https", summary: "agent resident memory idle after proxied calls over HTTPS (target <= 30 MB)") {
            try await runHTTPSMemoryBenchmark(calls: 5)
        },
        Scenario(name: "proxy", summary: "added latency at 100 req/s (p50 <= 1 ms, p99 <= 3 ms); 1,000 req/s sustained") {
            try await runProxyBenchmark(seconds: 20)
        },
        Scenario(name: "console", summary: "console queries on a 10-million-row store (task ID 5 ms, models 24h 200 ms, stale 50 ms, errors 24h 200 ms)") {
            try runConsoleQueryBenchmark(rows: 10_000_000)
        },
        Scenario(name: "memory", summary: "agent resident memory with 1 million tasks stored (target <= 100 MB)") {
            try await runMemoryBenchmark(tasks: 1_000_000)
        },
    ]

    static func run(_ arguments: [String]) async -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(help)
            return 0
        }
        var chosen: [Scenario] = []
        for name in arguments {
            guard let scenario = scenarios.first(where: { $0.name == name }) else {
                printError("kiewatch-bench: unknown scenario '\(name)'; scenarios: \(scenarios.map(\.name).joined(separator: ", "))")
                return 2
            }
            chosen.append(scenario)
        }
        if chosen.isEmpty { chosen = scenarios }
        print("kiewatch-bench \(KieWatchVersion.current): \(chosen.map(\.name).joined(separator: ", "))")
        for scenario in chosen {
            print("\n== \(scenario.name): \(scenario.summary)")
            do {
                try await scenario.run()
            } catch {
                printError("kiewatch-bench: \(scenario.name) failed: \(error)")
                return 1
            }
        }
        return 0
    }

    static var help: String {
        var lines = [
            "usage: swift run -c release kiewatch-bench [SCENARIO...]",
            "",
            "Runs the named scenarios (all when none is named) and prints figures and ratios measured in this run.",
            "",
            "scenarios:",
        ]
        for s in scenarios { lines.append("  \(s.name.padding(to: 10))\(s.summary)") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
