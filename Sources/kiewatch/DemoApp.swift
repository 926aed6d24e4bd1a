import KieWatchCore
import KieWatchHTTP
import Synchronization

/// The demo's synthetic app: creates tasks across Kie's task families through the agent, at a
/// pace that now and then bursts past Kie's 20 creates per 10 s, and receives the relayed
/// callbacks on its own webhook (one path per family), checking its secret and counting every
/// delivery per task and callback kind (Suno sends three per task; each counts once).
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

    /// One kind of task the app creates: its family, the create endpoint's label, and the body
    /// (without `callBackUrl`). A job that `extends` an earlier Veo task names a finished one.
    struct Job: Sendable {
        var family: TaskFamily
        var endpoint: String
        var body: JSONValue
        var extendsVeo = false

        var path: String { family.creates.first { $0.label == endpoint }?.path ?? family.creates[0].path }
    }

    static let secret = "demo-app-secret"
    static let jobs: [Job] = {
        func market(_ model: String) -> Job {
            Job(
                family: .market, endpoint: "create_task",
                body: ["model": .string(model), "input": ["prompt": "a red panda eating bamboo", "duration": "5", "aspect_ratio": "16:9"]])
        }
        func veo(_ model: String) -> Job {
            Job(
                family: .veo, endpoint: "veo_generate",
                body: ["prompt": "a lighthouse in a storm", "model": .string(model), "generationType": "TEXT_2_VIDEO", "aspectRatio": "16:9"])
        }
        return [
            market("kling-2.6/text-to-video"), veo("veo3_fast"),
            Job(family: .runway, endpoint: "runway_generate",
                body: ["prompt": "a fox running through fresh snow", "duration": 5, "quality": "720p", "aspectRatio": "16:9"]),
            Job(family: .suno, endpoint: "suno_generate",
                body: ["prompt": "a calm piano piece for a rainy morning", "customMode": false, "instrumental": true, "model": "V4_5"]),
            market("sora-2-text-to-video"),
            Job(family: .veoExtend, endpoint: "veo_extend", body: ["prompt": "the storm clears at dawn", "model": "fast"], extendsVeo: true),
            market("grok-imagine/text-to-video"),
            Job(family: .gpt4oImage, endpoint: "gpt4o_image_generate", body: ["prompt": "a watercolor lighthouse", "size": "1:1"]),
            veo("veo3"),
            Job(family: .luma, endpoint: "luma_modify", body: ["prompt": "make it winter", "videoUrl": "https://example.invalid/clip.mp4"]),
            market("wan/2-6-text-to-video"),
            Job(family: .aleph, endpoint: "aleph_generate", body: ["prompt": "turn day into night", "videoUrl": "https://example.invalid/clip.mp4"]),
            Job(family: .veo4K, endpoint: "veo_4k", body: ["index": 0], extendsVeo: true),
            Job(family: .fluxKontext, endpoint: "flux_kontext_generate", body: ["prompt": "a lighthouse, oil painting", "model": "flux-kontext-pro"]),
            market("hailuo/02-text-to-video-pro"),
            Job(family: .midjourney, endpoint: "mj_generate", body: ["taskType": "mj_txt2img", "prompt": "a lighthouse at night"]),
        ]
    }()

    /// The families the app creates tasks of, for the banner.
    static var familyTitles: [String] {
        var seen = Set<String>()
        return jobs.map(\.family).filter { seen.insert($0.rawValue).inserted }.map(\.title)
    }

    let agentURL: String
    let client = HTTPClient()
    private let counts = Mutex(Counts())
    private let seen = Mutex<[String: Int]>([:])
    private let hookBase = Mutex<String>("")
    /// Veo tasks whose success callback arrived, for extend and 4K requests (each used once).
    private let finishedVeo = Mutex<[String]>([])

    init(agentURL: String) {
        self.agentURL = agentURL
    }

    /// Where the app's webhook receiver listens (its `callBackUrl` base).
    func receiving(at base: String) { hookBase.withLock { $0 = base } }

    var snapshot: Counts { counts.withLock { $0 } }

    /// The app's webhook (`/hooks/<family>`): checks its secret and counts deliveries per task
    /// and callback kind.
    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.queryItem("secret") == Self.secret else {
            counts.withLock { $0.badSecret += 1 }
            return .text("bad secret", status: 401)
        }
        let family = TaskFamily.named(String(request.path.split(separator: "/").last ?? ""))
        let body = try? JSONValue.parse(request.body)
        let report = family.flatMap { family in body.flatMap { try? KieWire.callback(body: $0, family: family) } }
        // A callback naming no task (a Veo 4K failure may come with `data: null`) is counted
        // received, never a duplicate of another such one.
        let times = report.map { report in
            let key = "\(family?.rawValue ?? "?") \(report.taskId) \(report.callbackKind ?? "")"
            return seen.withLock { s -> Int in
                s[key, default: 0] += 1
                return s[key]!
            }
        } ?? 1
        counts.withLock { c in
            c.received += 1
            if times > 1 { c.duplicates += 1 }
            if request.headers["X-KieWatch-Recovered"] == "true" { c.recovered += 1 }
        }
        if times == 1, family == .veo, let report, report.state == .success {
            finishedVeo.withLock { finished in
                finished.append(report.taskId)
                if finished.count > 20 { finished.removeFirst() }
            }
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
        var job = Self.jobs[index % Self.jobs.count]
        if job.extendsVeo {
            // Extend or upscale a Veo video that finished; a plain Veo task while none has.
            if let parent = finishedVeo.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                job.body = FieldPath("taskId").writing(.string(parent), into: job.body)
            } else if let veo = Self.jobs.first(where: { $0.family == .veo }) {
                job = veo
            }
        }
        let hook = hookBase.withLock { $0 } + "/hooks/\(job.family.rawValue)?secret=\(Self.secret)"
        let body = FieldPath("callBackUrl").writing(.string(hook), into: job.body)
        do {
            let request = try HTTPClientRequest(
                method: "POST", url: agentURL + job.path,
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
