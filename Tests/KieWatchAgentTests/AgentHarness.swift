import Foundation
import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchSimulator
import KieWatchStore
import KieWatchTestSupport
import Synchronization

/// An HTTP transport that hands requests straight to a handler: the agent's upstream is the
/// simulator, in process, on the test clock.
final class InProcessTransport: HTTPTransport {
    let handler: any HTTPHandler
    /// Fails every call with this error while set (an upstream that is down).
    let failure = Mutex<HTTPClientError?>(nil)
    /// Answers instead of `handler` while set (an upstream that says something the simulator would not).
    let override = Mutex<(any HTTPHandler)?>(nil)
    /// Requests seen, as `METHOD path?query`.
    let seen = Mutex<[String]>([])

    init(handler: any HTTPHandler) { self.handler = handler }

    func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        if let error = failure.withLock({ $0 }) { throw error }
        seen.withLock { $0.append("\(request.method) \(request.url.pathAndQuery)") }
        let target = override.withLock { $0 } ?? handler
        let response = await target.handle(
            HTTPRequest(method: request.method, target: request.url.pathAndQuery, headers: request.headers, body: request.body))
        if response.status == 0 { throw .connectionReset }
        return response
    }
}

/// The simulator's callback sender, delivering to the agent's router in process.
final class RouterCallbackSender: CallbackSender {
    let router: Mutex<(any HTTPHandler)?> = Mutex(nil)

    func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        guard let handler = router.withLock({ $0 }), let parsed = try? HTTPClientURL(url) else {
            return .transportError("no receiver")
        }
        var h = headers
        h.set("Content-Type", "application/json")
        let response = await handler.handle(HTTPRequest(method: "POST", target: parsed.pathAndQuery, headers: h, body: body))
        return .status(response.status)
    }
}

/// The app: receives relayed callbacks; can be taken down.
final class FakeApp: HTTPTransport {
    struct Delivery: Sendable {
        var url: String
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: JSONValue? { try? JSONValue.parse(body) }
        var taskID: String? { json?["data"]?["taskId"]?.stringValue }
    }

    let received = Mutex<[Delivery]>([])
    let down = Atomic<Bool>(false)

    func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        if down.load(ordering: .relaxed) { throw .connectFailed(errno: 111, message: "connection refused") }
        received.withLock { $0.append(Delivery(url: request.url.description, headers: request.headers, body: request.body)) }
        return HTTPResponse(status: 200)
    }

    var deliveries: [Delivery] { received.withLock { $0 } }

    /// Deliveries per task id.
    func counts() -> [String: Int] {
        var out: [String: Int] = [:]
        for d in deliveries { if let id = d.taskID { out[id, default: 0] += 1 } }
        return out
    }
}

/// Simulator + agent + app on one test clock, all in process.
final class AgentHarness {
    let clock = TestClock()
    let database: TemporaryDatabase
    let simulator: KieSimulator
    let upstream: InProcessTransport
    let app = FakeApp()
    let sender = RouterCallbackSender()
    let logs = LogCollector()
    /// Where relays go: `app` unless the test gave a transport of its own (a real client).
    let relayTransport: any HTTPTransport
    var configuration: AgentConfiguration
    private(set) var agent: Agent

    static let appSecret = "app-s3cr3t-value"
    static let callbackSecret = "kie-cb-secret-xyz"
    static let apiKey = "agent-api-key-123"

    init(simulator configure: (inout SimulatorConfiguration) -> Void = { _ in },
         agent tune: (inout AgentConfiguration) -> Void = { _ in },
         relay: (any HTTPTransport)? = nil) throws {
        database = try TemporaryDatabase()
        var sim = SimulatorConfiguration()
        sim.speed = 1
        sim.seed = 7
        sim.rateLimit = nil
        sim.legacyPayloadRate = 0
        configure(&sim)
        simulator = KieSimulator(configuration: sim, clock: clock, callbackSender: sender)
        upstream = InProcessTransport(handler: simulator)
        var config = AgentConfiguration()
        config.databasePath = database.path
        config.upstream = "http://127.0.0.1:9500"
        config.uploadUpstream = "http://127.0.0.1:9500"
        config.callbackSecret = Self.callbackSecret
        config.apiKey = Self.apiKey
        config.deadlines.configuredDefault = 10 * 60_000
        tune(&config)
        configuration = config
        relayTransport = relay ?? app
        agent = try Self.makeAgent(config, clock: clock, upstream: upstream, relay: relayTransport, logs: logs)
        sender.router.withLock { $0 = agent.router }
    }

    static func makeAgent(
        _ config: AgentConfiguration, clock: TestClock, upstream: InProcessTransport, relay: any HTTPTransport,
        logs: LogCollector
    ) throws -> Agent {
        let logger = Logger(minimum: .debug, clock: clock, sink: { line in logs.append(line) })
        return try Agent(configuration: config, clock: clock, logger: logger, upstream: upstream, relayTransport: relay)
    }

    /// Stops the agent (as a crash would leave the file: committed rows only) and opens a new one.
    func restart() async throws {
        await agent.stop()
        agent = try Self.makeAgent(configuration, clock: clock, upstream: upstream, relay: relayTransport, logs: logs)
        sender.router.withLock { $0 = agent.router }
    }

    /// The app's create call through the agent.
    func createMarket(
        model: String = "kling-2.6/text-to-video", callback: Bool = true, callbackURL: String? = nil
    ) async throws -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("model", .string(model)), ("input", ["prompt": "a red panda", "duration": "5"]),
        ]
        if callback {
            members.append(("callBackUrl", .string(callbackURL ?? "https://app.example/hooks/kie?secret=\(Self.appSecret)")))
        }
        return try await create(path: "/api/v1/jobs/createTask", body: .object(members))
    }

    func createVeo(model: String = "veo3_fast") async throws -> String {
        let body: JSONValue = [
            "prompt": "a city at night", "model": .string(model), "generationType": "TEXT_2_VIDEO",
            "aspectRatio": "16:9", "callBackUrl": .string("https://app.example/hooks/veo?secret=\(Self.appSecret)"),
        ]
        return try await create(path: "/api/v1/veo/generate", body: body)
    }

    private func create(path: String, body: JSONValue) async throws -> String {
        let response = await agent.router.handle(
            HTTPRequest(
                method: "POST", target: path,
                headers: ["Authorization": "Bearer app-key", "Content-Type": "application/json"],
                body: body.serializedBytes()))
        guard let id = KieEnvelope(body: response.body).flatMap(KieWire.createdTaskId) else {
            throw HarnessError( "create failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return id
    }

    /// Moves virtual time in steps, letting the simulator finish tasks and the agent relay.
    func advance(seconds: Int, step: Int = 5) async { await runLoops(seconds: seconds, step: step, recovery: false) }

    /// Moves virtual time in steps, running what the agent's loops would run at each step.
    func runLoops(seconds: Int, step: Int = 5, recovery: Bool = true) async {
        var done = 0
        while done < seconds {
            clock.advance(byMillis: Int64(step) * 1000)
            done += step
            await simulator.tick()
            if recovery { await agent.runRecoveryOnce() }
            await agent.runRelayOnce()
        }
    }

    func reader() throws -> StoreReader { try StoreReader(path: database.path) }

    func task(_ id: String) throws -> TaskRecord? { try reader().task(id: id) }

    /// Every text value stored in the database except the relay's own columns.
    func storedText(
        excluding: Set<String> = ["tasks.callback_url", "relay_outbox.url", "callback_routes.callback_url"]
    ) throws -> String {
        let r = try reader()
        var out = ""
        for table in ["api_calls", "webhooks", "tasks", "recoveries", "relay_outbox", "relay_attempts", "meta", "callback_routes"] {
            let columns = try r.db.rows("SELECT name FROM pragma_table_info('\(table)')").compactMap { $0[0].string }
            for column in columns where !excluding.contains("\(table).\(column)") {
                for row in try r.db.rows("SELECT CAST(\(column) AS TEXT) FROM \(table)") {
                    out += (row[0].string ?? "") + "\n"
                }
            }
        }
        return out
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: String { lines.withLock { $0.joined(separator: "\n") } }
}
