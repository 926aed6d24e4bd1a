import KieWatchCore
import KieWatchHTTP
import Synchronization

/// The demo's synthetic app: creates tasks across model families through the agent, at a
/// pace that now and then bursts past Kie's 20 creates per 10 s, and receives the relayed
/// callbacks on its own webhook, checking its secret and counting every delivery per task.
final class DemoApp: HTTPHandler {
    struct Counts: Sendable {
        var created = 0
        var refused: [Int: Int] = [:]
        var received = 0
        var recovered = 0
        var duplicates = 0
        var badSecret = 0
        var failed = 0
    }

    static let secret = "demo-app-secret"
    static let models: [(path: String, model: String)] = [
        ("/api/v1/jobs/createTask", "kling-2.6/text-to-video"),
        ("/api/v1/jobs/createTask", "sora-2-text-to-video"),
        ("/api/v1/jobs/createTask", "grok-imagine/text-to-video"),
        ("/api/v1/jobs/createTask", "wan/2-6-text-to-video"),
        ("/api/v1/jobs/createTask", "hailuo/02-text-to-video-pro"),
        ("/api/v1/veo/generate", "veo3_fast"),
        ("/api/v1/veo/generate", "veo3"),
    ]

    let agentURL: String
    let client = HTTPClient()
    private let counts = Mutex(Counts())
    private let seen = Mutex<[String: Int]>([:])
    private let hookBase = Mutex<String>("")

    init(agentURL: String) {
        self.agentURL = agentURL
    }

    /// Where the app's webhook receiver listens (its `callBackUrl` base).
    func receiving(at base: String) { hookBase.withLock { $0 = base } }

    var snapshot: Counts { counts.withLock { $0 } }

    /// The app's webhook: checks its secret and counts deliveries per task.
    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.queryItem("secret") == Self.secret else {
            counts.withLock { $0.badSecret += 1 }
            return .text("bad secret", status: 401)
        }
        let id = KieEnvelope(body: request.body)?.data["taskId"]?.stringValue ?? "?"
        let times = seen.withLock { s -> Int in
            s[id, default: 0] += 1
            return s[id]!
        }
        counts.withLock { c in
            c.received += 1
            if times > 1 { c.duplicates += 1 }
            if request.headers["X-KieWatch-Recovered"] == "true" { c.recovered += 1 }
        }
        return .json(["ok": true])
    }

    /// Creates tasks until cancelled: about one every `interval`, with a burst now and then.
    func generate(interval: Duration) async {
        var n = 0
        while !Task.isCancelled {
            n += 1
            let burst = n % 60 == 0 ? 12 : 1  // about once a minute, a burst past Kie's 20 creates per 10 s
            let first = n
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<burst { group.addTask { await self.createOne(index: first + i) } }
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func createOne(index: Int) async {
        let (path, model) = Self.models[index % Self.models.count]
        let hook = hookBase.withLock { $0 } + (path.contains("veo") ? "/hooks/veo" : "/hooks/kie") + "?secret=\(Self.secret)"
        let body: JSONValue
        if path.contains("veo") {
            body = ["prompt": "a lighthouse in a storm", "model": .string(model), "generationType": "TEXT_2_VIDEO",
                    "aspectRatio": "16:9", "callBackUrl": .string(hook)]
        } else {
            body = ["model": .string(model), "callBackUrl": .string(hook),
                    "input": ["prompt": "a red panda eating bamboo", "duration": "5", "aspect_ratio": "16:9"]]
        }
        do {
            let request = try HTTPClientRequest(
                method: "POST", url: agentURL + path,
                headers: ["Authorization": "Bearer demo-key", "Content-Type": "application/json"],
                body: body.serializedBytes())
            let response = try await client.send(request, timeout: .seconds(30))
            let envelope = KieEnvelope(body: response.body)
            counts.withLock { c in
                if let envelope, KieWire.createdTaskId(envelope) != nil {
                    c.created += 1
                } else {
                    c.refused[envelope?.code ?? response.status, default: 0] += 1
                }
            }
        } catch {
            counts.withLock { $0.failed += 1 }
        }
    }
}
