import Foundation
import KieWatchCore
import KieWatchTestSupport
import Synchronization
import Testing

/// The app behind the agent, recording every callback it gets: path and query, headers, body.
final class LiveAppRecorder: Sendable {
    struct Delivery: Sendable {
        var target: String
        var headers: [String: String]
        var body: [UInt8]
        var json: JSONValue? { try? JSONValue.parse(body) }
    }

    private final class Received: Sendable { let list = Mutex<[Delivery]>([]) }

    private let server: RawTCPServer
    private let received = Received()

    init() throws {
        let received = self.received
        server = try RawTCPServer { connection in
            while let (head, body) = connection.readRequest() {
                let lines = head.split(separator: "\r\n")
                let target = lines.first.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" } ?? ""
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                received.list.withLock { $0.append(Delivery(target: target, headers: headers, body: body)) }
                connection.write(RawTCPServer.response(status: 200, body: "ok"))
            }
        }
    }

    var deliveries: [Delivery] { received.list.withLock { $0 } }
    func url(_ family: TaskFamily) -> String { "http://127.0.0.1:\(server.port)\(path(family))" }
    func path(_ family: TaskFamily) -> String { "/app/\(family.rawValue)?secret=\(FamilyLiveTests.appSecret)" }
    func stop() { server.stop() }
}

/// Every task family through the real `kiewatch serve` and `kiewatch simulate` on loopback:
/// Kie gets the agent's route URL and no app secret; every task's callbacks reach the app once
/// at its own URL (Suno's three in order); dropped ones are recovered through the family's
/// status endpoint, marked recovered, and counted missed exactly once; the console shows each
/// task's end; an unreadable callback still reaches the app.
@Suite(.serialized) struct FamilyLiveTests {
    static let appSecret = "app-s3cret"

    /// A create body the simulator accepts for `family` (`parent`: the task an extend or 4K names).
    static func body(_ family: TaskFamily, callbackURL: String, parent: String? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("prompt", "a lighthouse at dusk"), ("callBackUrl", .string(callbackURL))]
        switch family {
        case .market: members += [("model", "kling-2.6/text-to-video"), ("input", ["prompt": "a lighthouse at dusk", "duration": "5"])]
        case .veo: members += [("model", "veo3_fast"), ("aspect_ratio", "16:9")]
        case .veoExtend: members += [("taskId", .string(parent ?? "")), ("model", "fast")]
        case .veo4K: members += [("taskId", .string(parent ?? "")), ("index", 0)]
        case .suno: members += [("model", "V4_5"), ("customMode", false), ("instrumental", false)]
        default: members += [("videoUrl", "https://cdn.example/in.mp4"), ("imageUrl", "https://cdn.example/in.png")]
        }
        return .object(members)
    }

    func create(_ stack: LiveStack, _ app: LiveAppRecorder, _ family: TaskFamily, parent: String? = nil) throws -> String {
        let response = try LiveHTTP.request(
            "POST", port: stack.agentPort, path: family.creates[0].path,
            headers: ["Authorization": "Bearer \(stack.options.apiKey)", "Content-Type": "application/json"],
            body: Data(Self.body(family, callbackURL: app.url(family), parent: parent).serializedBytes()))
        guard let id = KieEnvelope(body: response.body).flatMap(KieWire.createdTaskId) else {
            throw LiveError("create \(family): HTTP \(response.status) \(response.text)")
        }
        return id
    }

    func simulatorTasks(_ stack: LiveStack) throws -> [JSONValue] {
        let response = try LiveHTTP.request("GET", port: stack.simulatorPort, path: "/_simulator/tasks")
        return try JSONValue.parse(response.body)["tasks"]?.arrayValue ?? []
    }

    @Test("every family through the real agent and simulator", .timeLimit(.minutes(3)))
    func everyFamilyEndToEnd() async throws {
        let app = try LiveAppRecorder()
        defer { app.stop() }
        let stack = try await LiveStack.start(
            .init(
                simulatorArguments: ["--drop-callbacks", "0.3", "--fail-rate", "0.25", "--rate-limit", "off", "--legacy-payloads", "0"]))
        defer { stack.stop() }

        var created: [(family: TaskFamily, id: String)] = []
        let first = TaskFamily.all.filter { $0.parentTaskSuffix == nil && $0 != .veoExtend }
        for family in first {
            for _ in 0..<3 { created.append((family, try create(stack, app, family))) }
        }
        // Extend and 4K name a finished Veo video.
        let parents = try await LiveWait.until("two Veo tasks to succeed") { _ in
            let done = try simulatorTasks(stack).filter { $0["family"] == "veo" && $0["state"] == "success" }
            return done.count >= 2 ? done.compactMap { $0["kie_task_id"]?.stringValue } : nil
        }
        for parent in parents.prefix(2) {
            created.append((.veoExtend, try create(stack, app, .veoExtend, parent: parent)))
            _ = try create(stack, app, .veo4K, parent: parent)
            created.append((.veo4K, TaskFamily.veo4K.trackedTaskID(kieTaskID: parent, create: ["index": 0])))
        }

        // Everything ends: each task terminal at the agent, no relay pending.
        try await LiveWait.until("every task to end and every relay to go", timeout: .seconds(90)) { note in
            let open = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE state NOT IN ('success', 'fail') OR (expects_callback = 1 AND callbacks_received = 0 AND recovered_at IS NULL AND callback_kinds IS NULL)")
            let pending = try stack.sqlNumber("SELECT count(*) FROM relay_outbox WHERE state = 'pending'")
            note = "\(open) open, \(pending) relays pending"
            return open == 0 && pending == 0 ? true : nil
        }
        let simTasks = Dictionary(uniqueKeysWithValues: try simulatorTasks(stack).compactMap { t in t["task_id"]?.stringValue.map { ($0, t) } })
        var dropped = 0
        for (family, id) in created {
            let sim = try #require(simTasks[id], "\(family) \(id) unknown to the simulator")
            // The URL Kie was given: the agent's route, the agent's secret, nothing of the app's.
            let kieURL = try #require(sim["callback_url"]?.stringValue)
            #expect(kieURL.hasPrefix("http://127.0.0.1:\(stack.agentPort)\(family.webhookPath)/"), "\(family): \(kieURL)")
            // The simulator shows it redacted: a secret, not the app's (nothing of the app's URL is in it).
            #expect(kieURL.hasSuffix("?secret=REDACTED") && !kieURL.contains("/app/"), "\(family): \(kieURL)")

            // What the app got for this task, at its own URL with its own secret.
            let kieID = family.kieTaskID(tracked: id)
            let mine = app.deliveries.filter { delivery in
                delivery.target == app.path(family)
                    && delivery.json.flatMap { try? KieWire.callback(body: $0, family: family).taskId } == kieID
            }
            let wasDropped = sim["callback"] == "dropped"
            if wasDropped { dropped += 1 }
            if family == .suno {
                let kinds = mine.compactMap { $0.json?["data"]?["callbackType"]?.stringValue }
                let last = sim["outcome"] == "success" ? "complete" : "error"
                #expect(kinds == ["text", "first", last], "suno \(id): \(kinds)")
            } else {
                #expect(mine.count == 1, "\(family) \(id): \(mine.count) deliveries")
            }
            let recovered = mine.last?.headers["x-kiewatch-recovered"] == "true"
            #expect(recovered == wasDropped, "\(family) \(id): dropped \(wasDropped), recovered relay \(recovered)")

            // The console shows how it ended.
            let console = try stack.console("task \(id)", json: true)
            let state = (try? JSONValue.parse(Array(console.output.utf8)))?["task"]?["state"]?.stringValue
            #expect(state == sim["outcome"]?.stringValue, "\(family) \(id): console says \(state ?? console.output)")
        }
        #expect(dropped > 0, "the seed drops some callbacks")
        let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
        let missed = metrics.families.first { $0.name == "kiewatch_webhooks_missed_total" }?.samples.reduce(0) { $0 + $1.value } ?? 0
        #expect(missed == Double(dropped), "missed \(missed), dropped \(dropped)")
        #expect(app.deliveries.allSatisfy { $0.target.hasSuffix("?secret=\(Self.appSecret)") })

        // An authenticated callback the agent cannot read still reaches the app.
        let runway = try #require(created.first { $0.family == .runway }?.id)
        let routeURL = try #require(simTasks[runway]?["callback_url"]?.stringValue)
        let routePath = try #require(routeURL.split(separator: "?").first).dropFirst("http://127.0.0.1:\(stack.agentPort)".count)
        let target = routePath + "?secret=" + stack.options.callbackSecret
        let garbage = Data("{\"code\":200,\"data\":{\"task_id\":\"\(runway)\",\"state\":\"teleported\"}}".utf8)
        let answer = try LiveHTTP.request("POST", port: stack.agentPort, path: String(target), headers: ["Content-Type": "application/json"], body: garbage)
        #expect(answer.status == 200)
        try await LiveWait.until("the unreadable callback to reach the app") { _ in
            app.deliveries.contains { $0.body == Array(garbage) && $0.target == app.path(.runway) } ? true : nil
        }
        #expect(try stack.sqlNumber("SELECT count(*) FROM webhooks WHERE result = 'unparsed'") == 1)
    }
}
