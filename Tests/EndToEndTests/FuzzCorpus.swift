import KieWatchCore
import KieWatchSimulator
import KieWatchTestSupport

/// The kinds of request the live fuzz test sends, with their share of the mix (per 1,000).
enum FuzzCategory: CaseIterable {
    /// Well-formed, authenticated deliveries for task ids the agent never saw (`unknown_task`).
    case validMarket, validVeo
    /// Well-formed deliveries of every other family (`TaskFamily.all`), in its table shape.
    case validFamily
    /// The first delivery for a task created through the proxy (lifecycle, rollups, relay).
    case validKnown
    /// A numeric field of a known market task's delivery replaced by an absurd value.
    case knownNumber
    /// A later delivery for a known task (`duplicate`).
    case duplicate
    /// Absurd values in a numeric field of an unknown task's delivery.
    case number
    case jsonType, jsonNesting, jsonUTF8, jsonTruncated, jsonBytes, jsonShape
    case secret, signature, timestamp
    /// Header and framing oddities that are still one well-framed request.
    case headers
    /// Sent alone: Content-Length and chunked framing gone wrong.
    case contentLength, chunked
    /// Sent alone: request lines, line endings, header syntax and sizes.
    case requestLine, headerSyntax
    /// Sent alone: a valid delivery followed by garbage in the same write.
    case pipelinedGarbage
    /// Sent alone: a request cut short, then the connection half-closed.
    case earlyClose
    case randomBytes
    /// Sent alone: a delivery after which the connection closes (`Connection: close`, HTTP/1.0).
    case closing
    /// Proxied `/api/` calls with absurd query values and bodies.
    case proxy
    /// `/healthz`, `/readyz`, `/metrics`, unknown paths and methods.
    case routes

    var weight: Int {
        switch self {
        case .validMarket: 110
        case .validVeo: 50
        case .validFamily: 40
        case .validKnown: 10
        case .knownNumber: 10
        case .duplicate: 10
        case .number: 130
        case .jsonType: 60
        case .jsonNesting: 20
        case .jsonUTF8: 40
        case .jsonTruncated: 30
        case .jsonBytes: 60
        case .jsonShape: 30
        case .secret: 50
        case .signature: 40
        case .timestamp: 40
        case .headers: 40
        case .contentLength: 30
        case .chunked: 20
        case .requestLine: 30
        case .headerSyntax: 30
        case .pipelinedGarbage: 10
        case .earlyClose: 20
        case .randomBytes: 15
        case .closing: 10
        case .proxy: 15
        case .routes: 10
        }
    }
}

/// Which category each index gets, and which known task the known-task categories use: decided
/// up front from the seed, so the test knows how many tasks to create before the run.
struct FuzzPlan {
    var categories: [FuzzCategory]
    /// For `validKnown` / `knownNumber`: the task's slot in its list; -1 otherwise.
    var slots: [Int32]
    var validKnownCount = 0
    var knownNumberCount = 0

    init(settings: FuzzSettings) {
        var random = SeededRandom(seed: settings.seed)
        let table = FuzzCategory.allCases.flatMap { Array(repeating: $0, count: $0.weight) }
        categories = []
        slots = []
        categories.reserveCapacity(settings.count)
        slots.reserveCapacity(settings.count)
        for _ in 0..<settings.count {
            let category = random.pick(table)
            categories.append(category)
            switch category {
            case .validKnown:
                slots.append(Int32(validKnownCount))
                validKnownCount += 1
            case .knownNumber:
                slots.append(Int32(knownNumberCount))
                knownNumberCount += 1
            default:
                slots.append(-1)
            }
        }
    }
}

/// Builds every case of the live fuzz run from the seed and the case's index, with what the
/// agent must answer. Webhook bodies are judged by the same decoder the agent runs
/// (`KieEnvelope`, `KieWire.callback`): whatever it reads must be acknowledged and stored,
/// whatever it refuses must get 400; authentication and framing are judged by the contract.
struct FuzzCorpus {
    let settings: FuzzSettings
    let plan: FuzzPlan
    let secret: String
    let hmacKey: String
    let apiKey: String
    /// Tasks created through the proxy: first deliveries (`validKnown`, mixed families).
    var knownTasks: [FuzzKnownTask] = []
    /// Market tasks created through the proxy, one per `knownNumber` case.
    var numberTasks: [FuzzKnownTask] = []

    static let marketModels = ["kling-2.6/text-to-video", "sora-2-text-to-video", "wan/2-6-text-to-video", "grok-imagine/text-to-video"]
    /// Fields whose values the `number` categories replace.
    static let numericFields = [
        "completeTime", "createTime", "updateTime", "costTime", "creditsConsumed", "consumeCredits", "remainedCredits",
        "progress", "successFlag", "code", "failCode",
    ]

    /// The case at `index`; `now` is the current Unix time in seconds (for signatures).
    func makeCase(_ index: Int, now: Int64) -> FuzzCase {
        var random = settings.random(for: index)
        let category = plan.categories[index]
        let slot = Int(plan.slots[index])
        for _ in 0..<64 {
            var generator = CaseGenerator(corpus: self, random: random, now: now)
            var made = generator.make(category, slot: slot)
            random = generator.random
            made.index = index
            if !settings.excludes(made.label) { return made }
        }
        var fallback = CaseGenerator(corpus: self, random: random, now: now).route(path: "/healthz", status: 200)
        fallback.index = index
        fallback.label = "routes.excluded-fallback"
        return fallback
    }

    /// The decoder's reading of a callback body: nil when the agent must answer 400.
    /// The callback as the agent reads it: the whole body (Aleph names its task beside `data`).
    static func decode(_ body: [UInt8], family: TaskFamily) -> TaskReport? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return try? KieWire.callback(body: json, family: family)
    }
}
