import Foundation
import KieWatchCore
import KieWatchHTTP
import Synchronization

/// Proxy overhead: the same status calls sent to the simulator directly and through the agent,
/// interleaved at 100 requests/s so both see the same machine; added p50/p99 is the
/// difference. Then the sustained rate through the agent at 1,000 requests/s.
func runProxyBenchmark(seconds: Int) async throws {
    let directory = try benchDirectory("proxy")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let simPort = try freePort()
    let simulator = try KiewatchProcess(
        ["simulate", "--listen", "127.0.0.1:\(simPort)", "--speed", "1000", "--rate-limit", "off", "--seed", "5"],
        port: simPort, directory: directory, logName: "simulator.log")
    defer { simulator.stop() }
    let agentPort = try freePort()
    let agent = try KiewatchProcess(
        ["serve", "--listen", "127.0.0.1:\(agentPort)", "--db", directory + "/kiewatch.db",
         "--admin-socket", directory + "/kiewatch.sock", "--upstream", "http://127.0.0.1:\(simPort)"],
        port: agentPort, directory: directory, environment: ["KIE_CALLBACK_SECRET": "s"], logName: "agent.log")
    defer { agent.stop() }
    let client = HTTPClient()
    try await simulator.waitUntilReady(path: "/api/v1/chat/credit", client: client)
    try await agent.waitUntilReady(path: "/healthz", client: client)

    // Tasks to ask about.
    var ids: [String] = []
    for i in 0..<50 {
        let body = #"{"model":"kling-2.6/text-to-video","input":{"prompt":"bench \#(i)"}}"#
        let request = try HTTPClientRequest(
            method: "POST", url: "http://127.0.0.1:\(agentPort)/api/v1/jobs/createTask",
            headers: ["Authorization": "Bearer bench"], body: Array(body.utf8))
        let response = try await client.send(request, timeout: .seconds(10))
        if let id = KieEnvelope(body: response.body).flatMap(KieWire.createdTaskId) { ids.append(id) }
    }
    guard !ids.isEmpty else { throw BenchError("no task could be created through the agent") }
    try await Task.sleep(for: .seconds(1))

    let taskIDs = ids
    let statusRequest: @Sendable (Int, Int) throws -> HTTPClientRequest = { port, i in
        try HTTPClientRequest(
            url: "http://127.0.0.1:\(port)/api/v1/jobs/recordInfo?taskId=\(taskIDs[i % taskIDs.count])",
            headers: ["Authorization": "Bearer bench"])
    }

    // Interleaved, paced at 100 requests/s in total.
    var direct: [Double] = []
    var proxied: [Double] = []
    var errors = 0
    let total = seconds * 100
    let start = monotonicNanos()
    for i in 0..<total {
        let due = start + UInt64(i) * 10_000_000
        let now = monotonicNanos()
        if due > now { try await Task.sleep(for: .nanoseconds(Int(due - now))) }
        let viaAgent = i % 2 == 1
        let t0 = monotonicNanos()
        do {
            let response = try await client.send(try statusRequest(viaAgent ? agentPort : simPort, i / 2), timeout: .seconds(5))
            if response.status != 200 { errors += 1 }
        } catch {
            errors += 1
        }
        let elapsed = Double(monotonicNanos() - t0) / 1e6
        if i >= 100 { if viaAgent { proxied.append(elapsed) } else { direct.append(elapsed) } }  // 1 s warm-up
    }
    direct.sort()
    proxied.sort()
    let d50 = percentile(direct, 0.5), d99 = percentile(direct, 0.99)
    let p50 = percentile(proxied, 0.5), p99 = percentile(proxied, 0.99)
    print(String(format: "  at 100 req/s (%d each way, %d errors): direct p50 %.3f ms p99 %.3f ms | via agent p50 %.3f ms p99 %.3f ms",
                 direct.count, errors, d50, d99, p50, p99))
    print(String(format: "  added by the agent: p50 %.3f ms (target <= 1), p99 %.3f ms (target <= 3)", p50 - d50, p99 - d99))

    // Sustained: 1,000 requests/s through the agent for `seconds` seconds, 16 senders.
    let target = 1000
    let count = target * seconds
    let next = SharedCounter()
    let failures = SharedCounter()
    let begin = monotonicNanos()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<16 {
            group.addTask {
                while true {
                    let i = next.next()
                    if i >= count { break }
                    let due = begin + UInt64(i) * 1_000_000_000 / UInt64(target)
                    let now = monotonicNanos()
                    if due > now { try? await Task.sleep(for: .nanoseconds(Int(due - now))) }
                    do {
                        let response = try await client.send(try statusRequest(agentPort, i), timeout: .seconds(5))
                        if response.status != 200 { _ = failures.next() }
                    } catch {
                        _ = failures.next()
                    }
                }
            }
        }
    }
    let took = Double(monotonicNanos() - begin) / 1e9
    print(String(format: "  sustained: %d requests through the agent in %.2f s = %.0f req/s (target >= 1,000), %d failed",
                 count, took, Double(count) / took, failures.current))
}
