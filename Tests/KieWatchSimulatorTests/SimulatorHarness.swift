import KieWatchCore
import KieWatchHTTP
import Synchronization
import Testing

@testable import KieWatchSimulator

/// A callback receiver that records every POST and answers from a script (then 200).
final class RecordingSender: CallbackSender {
    struct Post: Sendable {
        var url: String
        var body: [UInt8]
        var headers: HTTPHeaders
        var json: JSONValue? { try? JSONValue.parse(body) }
    }

    private let posts = Mutex<[Post]>([])
    private let script: Mutex<[CallbackResult]>
    private let answer: (@Sendable ([UInt8]) -> CallbackResult)?

    /// `failures` are returned for the first posts, in order; every later post gets 200.
    init(failures: [CallbackResult] = []) {
        script = Mutex(failures)
        answer = nil
    }

    /// Every post gets `answer(body)`: the same body, the same result, whatever order
    /// concurrent deliveries arrive in.
    init(answer: @escaping @Sendable ([UInt8]) -> CallbackResult) {
        script = Mutex([])
        self.answer = answer
    }

    func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        posts.withLock { $0.append(Post(url: url, body: body, headers: headers)) }
        if let answer { return answer(body) }
        return script.withLock { $0.isEmpty ? .status(200) : $0.removeFirst() }
    }

    var received: [Post] { posts.withLock { $0 } }
}

/// A simulator on a `TestClock` with a recording sender, and request helpers.
struct Harness {
    let clock = TestClock()
    let sender: RecordingSender
    let simulator: KieSimulator
    static let callbackURL = "http://127.0.0.1:9464/webhooks/kie?secret=s"

    init(sender: RecordingSender = RecordingSender(), _ configure: (inout SimulatorConfiguration) -> Void = { _ in }) {
        var configuration = SimulatorConfiguration()
        configure(&configuration)
        self.sender = sender
        simulator = KieSimulator(configuration: configuration, clock: clock, callbackSender: sender)
    }

    func request(_ method: String, _ target: String, body: String? = nil, key: String? = "test-key") async -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        if let key { headers.add("Authorization", "Bearer \(key)") }
        if body != nil { headers.add("Content-Type", "application/json") }
        return await simulator.handle(
            HTTPRequest(method: method, target: target, headers: headers, body: Array((body ?? "").utf8)))
    }

    /// POSTs a market create and returns the task id (nil when refused).
    @discardableResult
    func createMarket(model: String = "kling-2.6/text-to-video", callBackUrl: String? = callbackURL, key: String = "test-key")
        async -> String?
    {
        var body: JSONValue = ["model": .string(model), "input": ["prompt": "a red panda", "duration": "5"]]
        if let callBackUrl, case .object(var members) = body {
            members.append(("callBackUrl", .string(callBackUrl)))
            body = .object(members)
        }
        let answer = await request("POST", "/api/v1/jobs/createTask", body: body.serialized(), key: key).json
        return answer?["data"]?["taskId"]?.stringValue
    }

    /// POSTs a Veo generate and returns the task id (nil when refused).
    @discardableResult
    func createVeo(aspectRatio: String = "16:9", callBackUrl: String? = "http://127.0.0.1:9464/webhooks/veo") async -> String? {
        var members: [(key: String, value: JSONValue)] = [
            ("prompt", "a city at dawn"), ("model", "veo3_fast"), ("generationType", "TEXT_2_VIDEO"),
            ("aspectRatio", .string(aspectRatio)),
        ]
        if let callBackUrl { members.append(("callBackUrl", .string(callBackUrl))) }
        let answer = await request("POST", "/api/v1/veo/generate", body: JSONValue.object(members).serialized()).json
        return answer?["data"]?["taskId"]?.stringValue
    }

    func recordInfo(_ id: String) async -> JSONValue? {
        await request("GET", "/api/v1/jobs/recordInfo?taskId=\(id)").json
    }

    func veoRecordInfo(_ id: String) async -> JSONValue? {
        await request("GET", "/api/v1/veo/record-info?taskId=\(id)").json
    }

    /// Advances the virtual clock and ticks.
    func advance(millis: Int64) async {
        clock.advance(byMillis: millis)
        await simulator.tick()
    }
}

extension HTTPResponse {
    var json: JSONValue? { try? JSONValue.parse(body) }
    var code: Int64? { json?["code"]?.intValue }
}

/// Where `actual` departs from the shape of `fixture`: every key of the fixture must be present,
/// with the same JSON type unless one side is null (Kie leaves fields null until they apply).
/// Extra keys are allowed. Returns the mismatching paths.
func shapeMismatches(_ actual: JSONValue, _ fixture: JSONValue, path: String = "$") -> [String] {
    switch (actual, fixture) {
    case (_, .null), (.null, _): return []
    case (.object(let a), .object(let f)):
        return f.flatMap { member -> [String] in
            guard let value = a.first(where: { $0.key == member.key })?.value else { return ["\(path).\(member.key) missing"] }
            return shapeMismatches(value, member.value, path: "\(path).\(member.key)")
        }
    case (.array(let a), .array(let f)):
        guard let element = f.first else { return [] }
        return a.enumerated().flatMap { shapeMismatches($1, element, path: "\(path)[\($0)]") }
    case (.string, .string), (.bool, .bool), (.int, .int), (.double, .double), (.int, .double), (.double, .int): return []
    default: return ["\(path): \(kind(actual)) where the fixture has \(kind(fixture))"]
    }
}

private func kind(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "bool"
    case .int, .double: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
}

/// The fault counters of a snapshot, by name, so a test can say "only this one moved".
func faultCounters(_ s: SimulatorStats) -> [String: Int] {
    [
        "tasksFailed": s.tasksFailed, "callbacksDropped": s.callbacksDropped, "callbacksDuplicated": s.callbacksDuplicated,
        "callbacksLate": s.callbacksLate, "callbacksEarly": s.callbacksEarly, "callbackRetries": s.callbackRetries,
        "callbacksFailedDelivery": s.callbacksFailedDelivery, "rateLimited": s.rateLimited, "serverErrors": s.serverErrors,
        "maintenanceAnswers": s.maintenanceAnswers, "slowAnswers": s.slowAnswers, "connectionResets": s.connectionResets,
        "unauthorized": s.unauthorized, "validationErrors": s.validationErrors,
        "insufficientCredits": s.insufficientCredits, "notFound": s.notFound,
        "statusLagAnswers": s.statusLagAnswers, "statusFaults": s.statusFaults,
    ]
}

/// Expects every fault counter except `allowed` to be zero.
func expectNoOtherFaults(_ s: SimulatorStats, except allowed: Set<String>, sourceLocation: SourceLocation = #_sourceLocation) {
    for (name, value) in faultCounters(s) where !allowed.contains(name) {
        #expect(value == 0, "\(name) should be 0", sourceLocation: sourceLocation)
    }
}
