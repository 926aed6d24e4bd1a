import Foundation
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import Synchronization

/// Webhook ingestion: durably acknowledged callback deliveries per second on loopback with
/// 64 keep-alive connections, against the real `kiewatch serve` (group commit), plus the
/// agent's memory (idle, during the flood, with 1,000 open connections) and the effect of
/// concurrent `/metrics` scrapes on the acknowledgement rate. The deliveries come from
/// `LoadGenerator` (one thread, one epoll loop), which takes well under a tenth of a core.
func runWebhookBenchmark(deliveries: Int, connections: Int) async throws {
    let directory = try benchDirectory("webhook")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let db = directory + "/kiewatch.db"
    let secret = "bench-secret"

    // Tasks the callbacks are for, created directly in the store (as the proxy would have).
    // Warm-up, the flood, and 10 alternating rounds of a quarter of it each: long enough
    // (about a second at the target rate) for the once-a-second scraper to land in every round.
    let round = deliveries / 4
    let taskCount = 2000 + deliveries + 10 * round + 1000
    try await seedTasks(path: db, count: taskCount, withAppURL: nil)

    let port = try freePort()
    let agent = try KiewatchProcess(
        ["serve", "--listen", "127.0.0.1:\(port)", "--db", db, "--admin-socket", directory + "/kiewatch.sock",
         "--upstream", "http://127.0.0.1:9"],
        port: port, directory: directory, environment: ["KIE_CALLBACK_SECRET": secret], logName: "agent.log")
    defer { agent.stop() }
    let client = HTTPClient()
    try await agent.waitUntilReady(path: "/healthz", client: client)
    // Idle: long enough after the readiness polls for the agent's idle trim (a quiet tick of
    // 3 s, then the trim) to have handed back what opening the store allocated.
    try await Task.sleep(for: .seconds(7))
    let idle = agent.memory()
    let linkage = agent.linksSwiftRuntimeStatically
        ? "Swift runtime linked statically"
        : "Swift runtime as shared libraries; the deployment build is `.ci/deploy-build`"
    print("  agent idle: resident \(idle.described) (target <= 30 MB; \(linkage))")

    let generator = LoadGenerator(port: port, path: "/webhooks/kie?secret=\(secret)", connections: connections)
    let body: @Sendable (Int) -> [UInt8] = { i in
        Array(#"{"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"bench-\#(i)","model":"kling-2.6/text-to-video","state":"success","resultJson":"{\"resultUrls\":[\"https://files.example/v.mp4\"]}","completeTime":\#(SystemClock().now() - 2000),"createTime":\#(SystemClock().now() - 60000),"creditsConsumed":10}}"#.utf8)
    }

    // Warm-up, then the measured flood; then alternating rounds without and with a scraper
    // hitting /metrics every second (15 times Prometheus' default rate), so both see the same
    // machine and database growth.
    _ = try await generator.flood(first: 0, count: 2000, body: body)
    let plain = try await generator.flood(first: 2000, count: deliveries, body: body)
    var next = 2000 + deliveries
    var quiet: [FloodResult] = []
    var scraped: [FloodResult] = []
    var scrapes = 0
    for _ in 0..<5 {
        quiet.append(try await generator.flood(first: next, count: round, body: body))
        next += round
        let scraping = ScrapeLoop(url: "http://127.0.0.1:\(port)/metrics", client: client)
        let scraper = Task { await scraping.run() }
        scraped.append(try await generator.flood(first: next, count: round, body: body))
        next += round
        scraper.cancel()
        _ = await scraper.value
        scrapes += scraping.count
    }
    let afterFlood = agent.memory()
    let quietRate = quiet.map(\.rate).sorted()[2]
    let scrapedRate = scraped.map(\.rate).sorted()[2]

    print(String(format: "  %d deliveries, %d connections: %.0f acks/s (target >= 15,000), p50 %.2f ms, p99 %.2f ms, %d errors",
                 plain.count, connections, plain.rate, plain.p50 * 1000, plain.p99 * 1000, plain.errors))
    print(String(format: "  5 alternating rounds of %d, median: %.0f acks/s quiet, %.0f acks/s with /metrics scraped every second (%d scrapes): ratio %.3f (target >= 0.95)",
                 round, quietRate, scrapedRate, scrapes, scrapedRate / quietRate))
    print("  agent memory during the flood: resident \(mib(afterFlood.rss)), peak \(mib(afterFlood.peak))")

    // 1,000 idle connections held open.
    var sockets: [Int32] = []
    defer { for fd in sockets { close(fd) } }
    for _ in 0..<1000 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok == 0 { sockets.append(fd) } else { close(fd) }
    }
    try await Task.sleep(for: .milliseconds(500))
    let held = agent.memory()
    let stillServed = (try? await client.send(try HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(5)))?.status
    print("  with \(sockets.count) idle connections open: resident \(mib(held.rss)), peak \(mib(held.peak)); /healthz still answers \(stillServed.map(String.init) ?? "no")")

    // Every acknowledged delivery is in the store.
    let reader = try StoreReader(path: db)
    let stored = try reader.db.rows("SELECT count(*) FROM webhooks WHERE result = 'accepted'").first?[0].int64 ?? 0
    let acked = next - (quiet + scraped + [plain]).reduce(0) { $0 + $1.errors }
    print("  acknowledged \(acked), stored as accepted \(stored)\(Int(stored) >= acked ? "" : "  <-- MISMATCH")")
}

/// What one flood measured: requests sent, how many failed, wall time, and latency percentiles
/// (seconds) of the answered ones.
struct FloodResult {
    var count: Int
    var errors: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var rate: Double { Double(count - errors) / seconds }
}

/// Scrapes `/metrics` every second until cancelled.
final class ScrapeLoop: Sendable {
    let url: String
    let client: HTTPClient
    private let scrapes = Atomic<Int>(0)
    init(url: String, client: HTTPClient) {
        self.url = url
        self.client = client
    }
    var count: Int { scrapes.load(ordering: .relaxed) }
    func run() async {
        while !Task.isCancelled {
            if let request = try? HTTPClientRequest(url: url), (try? await client.send(request, timeout: .seconds(5))) != nil {
                scrapes.wrappingAdd(1, ordering: .relaxed)
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Creates `count` generating tasks named `bench-N` directly through the store's writer.
func seedTasks(path: String, count: Int, withAppURL url: String?, terminalFraction: Double = 0) async throws {
    let writer = try StoreWriter(path: path)
    let now = SystemClock().now()
    let batch = 5000
    var i = 0
    while i < count {
        let range = i..<min(count, i + batch)
        try await writer.write { ctx in
            for n in range {
                let terminal = Double(n % 1000) < terminalFraction * 1000
                let created = now - 120_000 - Int64(n % 600) * 1000
                try ctx.save(TaskRecord(
                    taskID: "bench-\(n)", family: .market, model: ["kling-2.6/text-to-video", "sora-2-text-to-video", "veo3_fast", "grok-imagine/text-to-video"][n % 4],
                    state: terminal ? .success : .generating, createdAt: created, updatedAt: created,
                    completedAt: terminal ? created + 60_000 : nil, finishedAt: terminal ? created + 61_000 : nil,
                    callbackURL: url, expectsCallback: url != nil, deadlineAt: now + 3_600_000))
            }
        }
        i += batch
    }
    await writer.close()
}
