import Foundation
import KieWatchCore
import KieWatchHTTP

/// The agent's resident memory with 1 million tasks stored (target <= 100 MB): the store is
/// filled first, then `kiewatch serve` opens it, rebuilds its counters and gauges, and idles.
func runMemoryBenchmark(tasks: Int) async throws {
    let directory = try benchDirectory("memory")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let db = directory + "/kiewatch.db"
    let t0 = monotonicNanos()
    try await seedTasks(path: db, count: tasks, withAppURL: "https://app.example/hook", terminalFraction: 0.98)
    print(String(format: "  stored %d tasks (98%% finished) in %.1f s; database %@",
                 tasks, Double(monotonicNanos() - t0) / 1e9, mib(Int((try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0))))
    let port = try freePort()
    let started = monotonicNanos()
    let agent = try KiewatchProcess(
        ["serve", "--listen", "127.0.0.1:\(port)", "--db", db, "--admin-socket", directory + "/kiewatch.sock",
         "--upstream", "http://127.0.0.1:9"],
        port: port, directory: directory, logName: "agent.log")
    defer { agent.stop() }
    let client = HTTPClient()
    try await agent.waitUntilReady(path: "/healthz", client: client)
    let ready = Double(monotonicNanos() - started) / 1e9
    try await Task.sleep(for: .seconds(3))
    _ = try await client.send(try HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
    let memory = agent.memory()
    print(String(format: "  agent ready in %.2f s; resident %@, peak %@ (target <= 100 MB)", ready, mib(memory.rss), mib(memory.peak)))
}
