import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import KieWatchHTTP
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

/// A Kie that speaks every family through the table, with the answers each test sets: creates
/// answer a new id (a 4K request its parent's), and remember the callback URL Kie was given;
/// status calls answer the report `status` holds for the task.
final class FamilyKie: HTTPHandler {
    struct Create: Sendable {
        var path: String
        var body: JSONValue
        var callbackURL: String?
    }

    let creates = Mutex<[String: [Create]]>([:])
    let status = Mutex<[String: TaskReport]>([:])
    let next = Atomic<Int>(0)

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard let role = TaskFamily.role(ofPath: request.path) else { return .kieError(code: 404, msg: "Not Found", status: 404) }
        switch role {
        case .create(let family, _):
            let body = (try? JSONValue.parse(request.body)) ?? .null
            // Veo 4K's status is its own request sent again: the report set for it, once there is one.
            if family.status.method == "POST", body["callBackUrl"] == nil, let parent = family.parentTaskID(inCreate: body),
                let report = status.withLock({ $0[parent] })
            {
                return .json(["code": 200, "msg": "success", "data": KieWire.statusData(for: report, family: family)])
            }
            let id = family.parentTaskID(inCreate: body) ?? "\(family.rawValue)-task-\(next.add(1, ordering: .relaxed).newValue)"
            let create = Create(path: String(request.path), body: body, callbackURL: body["callBackUrl"]?.stringValue)
            creates.withLock { $0[id, default: []].append(create) }
            return .json(["code": 200, "msg": "success", "data": ["taskId": .string(id)]])
        case .status(_, let endpoint):
            guard let id = request.queryItem(endpoint.taskIdParameter), let report = status.withLock({ $0[id] }) else {
                return .json(["code": 422, "msg": "recordInfo is null", "data": nil])
            }
            return .json(["code": 200, "msg": "success", "data": KieWire.statusData(for: report, family: report.family)])
        }
    }

    /// The callback URL Kie was given with the last create for `id`.
    func callbackURL(_ id: String) -> String? { creates.withLock { $0[id]?.last?.callbackURL } }
}

/// Every task family through the agent: the callback URL Kie gets, callbacks attributed by it,
/// Suno's three callbacks, Veo 4K's reused id, unreadable callbacks relayed, Luma's flag 4.
@Suite struct TaskFamilyTests {
    static let appSecret = AgentHarness.appSecret

    func harness(tune: (inout AgentConfiguration) -> Void = { _ in }) throws -> (AgentHarness, FamilyKie) {
        let h = try AgentHarness(agent: tune)
        let kie = FamilyKie()
        h.upstream.override.withLock { $0 = kie }
        return (h, kie)
    }

    func appURL(_ family: TaskFamily) -> String { "https://app.example/hooks/\(family.rawValue)?secret=\(Self.appSecret)" }

    /// The app's create for `family` through the agent; the task id Kie answered.
    func create(_ h: AgentHarness, _ family: TaskFamily, extra: [(key: String, value: JSONValue)] = []) async throws -> String {
        let body = JSONValue.object([("prompt", "a lighthouse"), ("callBackUrl", .string(appURL(family)))] + extra)
        let response = await h.agent.router.serve(
            HTTPRequest(
                method: "POST", target: family.creates[0].path,
                headers: ["Authorization": "Bearer app-key", "Content-Type": "application/json"], body: body.serializedBytes()))
        return try #require(KieEnvelope(body: response.body).flatMap(KieWire.createdTaskId))
    }

    /// Kie's callback to the URL it was given.
    func deliver(_ h: AgentHarness, to url: String, body: [UInt8]) async throws -> HTTPResponse {
        let target = try HTTPClientURL(url).pathAndQuery
        return await h.agent.router.serve(HTTPRequest(method: "POST", target: target, body: body))
    }

    func callback(_ family: TaskFamily, id: String, state: TaskState, kind: String? = nil) -> [UInt8] {
        var report = TaskReport(
            taskId: id, family: family, state: state, failCode: state == .fail ? "500" : nil,
            failMessage: state == .fail ? "generation failed" : nil, resultURLs: state == .success ? ["https://cdn.example/\(id).mp4"] : [])
        report.callbackKind = kind
        return KieWire.callbackBody(for: report, family: family).serializedBytes()
    }

    func metrics(_ h: AgentHarness) -> String {
        String(decoding: h.agent.metrics.registry.render(.prometheusText), as: UTF8.self)
    }

    // MARK: Every family

    /// For every family: Kie gets the family's route URL with the agent's secret and nothing of
    /// the app's; a success and a failure each reach the app once, at its own URL, as Kie sent
    /// them; the task ends in the right state; nothing is a duplicate.
    @Test(arguments: TaskFamily.all)
    func callbacksOfEveryFamilyReachTheAppOnceAtItsOwnURL(family: TaskFamily) async throws {
        let (h, kie) = try harness()
        let extra: [(key: String, value: JSONValue)] = family.parentTaskSuffix != nil ? [("taskId", "parent-1"), ("index", 0)] : []
        let ok = try await create(h, family, extra: extra)
        let okURL = try #require(kie.callbackURL(ok))
        #expect(okURL.hasPrefix("http://127.0.0.1:9464\(family.webhookPath)/"))
        #expect(okURL.hasSuffix("?secret=\(AgentHarness.callbackSecret)"))
        #expect(!okURL.contains("app.example") && !okURL.contains(Self.appSecret))
        let tracked = family.trackedTaskID(kieTaskID: ok, create: .object(extra))
        #expect(try h.task(tracked)?.family == family)
        #expect(try h.task(tracked)?.model == family.model(inCreate: .object([])) || family.model.fallback == nil)

        let success = callback(family, id: ok, state: .success)
        #expect(try await deliver(h, to: okURL, body: success).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.map(\.url) == [appURL(family)])
        #expect(h.app.deliveries.first?.body == success)
        #expect(try h.task(tracked)?.state == .success)
        // Kie delivers again: recorded, not relayed.
        #expect(try await deliver(h, to: okURL, body: success).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.count == 1)

        guard family.parentTaskSuffix == nil else { return }
        let failed = try await create(h, family)
        let failURL = try #require(kie.callbackURL(failed))
        #expect(try await deliver(h, to: failURL, body: callback(family, id: failed, state: .fail)).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.count == 2)
        #expect(try h.task(failed)?.state == .fail)
        let results = try h.reader().db.rows("SELECT result FROM webhooks ORDER BY id").compactMap { $0[0].string }
        #expect(results == ["accepted", "duplicate", "accepted"])
    }

    /// Kie's 20 creates per 10 s cover every new generation request: one create of each
    /// family counts 11 of the 20.
    @Test func everyFamilysCreatesCountTowardTheCreateRateLimit() async throws {
        let (h, _) = try harness()
        for family in TaskFamily.all {
            let extra: [(key: String, value: JSONValue)] = family.parentTaskSuffix != nil ? [("taskId", "p"), ("index", 0)] : []
            _ = try await create(h, family, extra: extra)
        }
        h.agent.refreshGauges()
        #expect(metrics(h).contains("kiewatch_create_rate_limit_utilization \(Double(TaskFamily.all.count) / 20)\n"))
    }

    // MARK: Suno

    /// Suno's `text`, `first` and `complete` callbacks each reach the app once, in order, none a
    /// duplicate of another; a repeated `first` is.
    @Test func sunosThreeCallbacksEachReachTheAppOnceInOrder() async throws {
        let (h, kie) = try harness()
        let id = try await create(h, .suno, extra: [("model", "V4_5")])
        #expect(try h.task(id)?.model == "suno/V4_5")
        let url = try #require(kie.callbackURL(id))
        for kind in ["text", "first", "first", "complete"] {
            let state: TaskState = kind == "complete" ? .success : .generating
            #expect(try await deliver(h, to: url, body: callback(.suno, id: id, state: state, kind: kind)).status == 200)
            await h.advance(seconds: 5)
        }
        let kinds = h.app.deliveries.compactMap { $0.json?["data"]?["callbackType"]?.stringValue }
        #expect(kinds == ["text", "first", "complete"])
        let task = try #require(try h.task(id))
        #expect(task.state == .success && task.callbacksReceived == 1 && task.callbackKinds == ["text", "first"])
        let results = try h.reader().db.rows("SELECT result FROM webhooks ORDER BY id").compactMap { $0[0].string }
        #expect(results == ["accepted", "accepted", "duplicate", "accepted"])
        #expect(metrics(h).contains(#"kiewatch_webhooks_received_total{model="suno/V4_5",result="accepted"} 3"#))
    }

    /// The app is down while Suno's first callback is relayed: the later ones wait for it, so
    /// the app still gets `text`, `first`, `complete` in that order once it is back.
    @Test func sunosCallbacksKeepTheirOrderThroughRetries() async throws {
        let (h, kie) = try harness()
        let id = try await create(h, .suno)
        let url = try #require(kie.callbackURL(id))
        h.app.down.store(true, ordering: .relaxed)
        #expect(try await deliver(h, to: url, body: callback(.suno, id: id, state: .generating, kind: "text")).status == 200)
        await h.advance(seconds: 5)
        h.app.down.store(false, ordering: .relaxed)
        for kind in ["first", "complete"] {
            let state: TaskState = kind == "complete" ? .success : .generating
            #expect(try await deliver(h, to: url, body: callback(.suno, id: id, state: state, kind: kind)).status == 200)
        }
        await h.advance(seconds: 600)
        let kinds = h.app.deliveries.compactMap { $0.json?["data"]?["callbackType"]?.stringValue }
        #expect(kinds == ["text", "first", "complete"])
    }

    // MARK: Veo 4K

    /// A 4K request answers its parent's id: it is its own task (`<parent>#4k`), its callback
    /// goes to the URL given with it and the parent's to the parent's; neither is a duplicate
    /// of the other. A 4K failure with `data: null` is attributed by its URL.
    @Test func aVeo4KRequestIsItsOwnTaskWithItsOwnURL() async throws {
        let (h, kie) = try harness()
        let parent = try await create(h, .veo)
        let parentURL = try #require(kie.callbackURL(parent))
        let fourK = try await create(h, .veo4K, extra: [("taskId", .string(parent)), ("index", 0)])
        #expect(fourK == parent, "Kie answers the parent's id")
        let fourKURL = try #require(kie.callbackURL(parent))
        #expect(fourKURL != parentURL && fourKURL.contains("/webhooks/veo-4k/"))
        let tracked = parent + "#4k"
        #expect(try h.task(tracked)?.family == .veo4K)
        #expect(try h.task(tracked)?.model == "veo3-4k")

        #expect(try await deliver(h, to: parentURL, body: callback(.veo, id: parent, state: .success)).status == 200)
        #expect(try await deliver(h, to: fourKURL, body: callback(.veo4K, id: parent, state: .success)).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.map(\.url).sorted() == [appURL(.veo), appURL(.veo4K)].sorted())
        #expect(try h.task(parent)?.state == .success && h.task(tracked)?.state == .success)

        // A second 4K (index 1) fails with `data: null`: only its URL says whose it is.
        _ = try await create(h, .veo4K, extra: [("taskId", .string(parent)), ("index", 1)])
        let secondURL = try #require(kie.callbackURL(parent))
        let failure = Array(#"{"code":500,"msg":"The 4K version of this video is unavailable.","data":null}"#.utf8)
        #expect(try await deliver(h, to: secondURL, body: failure).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.count == 3 && h.app.deliveries.last?.body == failure)
        #expect(try h.task(parent + "#4k1")?.state == .fail)
        let results = try h.reader().db.rows("SELECT task_id, result FROM webhooks ORDER BY id").map { ($0[0].string, $0[1].string) }
        #expect(results.map(\.1) == ["accepted", "accepted", "accepted"])
        #expect(results.map(\.0) == [parent, tracked, parent + "#4k1"])
    }

    // MARK: Unreadable callbacks

    /// An authenticated callback on a route that the table cannot read (not JSON; a state it
    /// does not know) still reaches the app unchanged, recorded `unparsed`; on the old path,
    /// where no route names the app, it is refused as before.
    @Test func anUnreadableAuthenticatedCallbackStillReachesTheApp() async throws {
        let (h, kie) = try harness()
        let id = try await create(h, .runway)
        let url = try #require(kie.callbackURL(id))
        let garbage = Array("<<not json>>".utf8)
        let newState = Array(#"{"code":200,"msg":"ok","data":{"task_id":"\#(id)","state":"teleported"}}"#.utf8)
        for body in [garbage, newState] {
            #expect(try await deliver(h, to: url, body: body).status == 200)
        }
        // One relay per task at a time, in order: the second goes at the next pass.
        await h.advance(seconds: 10)
        #expect(h.app.deliveries.map(\.body) == [garbage, newState])
        #expect(h.app.deliveries.allSatisfy { $0.url == appURL(.runway) })
        let rows = try h.reader().db.rows("SELECT task_id, result FROM webhooks ORDER BY id")
        #expect(rows.map { $0[1].string } == ["unparsed", "unparsed"])
        #expect(rows.map { $0[0].string } == [id, id])
        #expect(try h.task(id)?.state.isTerminal == false, "an unread callback does not end the task")
        #expect(metrics(h).contains(#"kiewatch_webhooks_received_total{model="runway",result="unparsed"} 2"#))
        // A wrong secret is still refused, token or not.
        let wrong = url.replacingOccurrences(of: AgentHarness.callbackSecret, with: "nope")
        #expect(try await deliver(h, to: wrong, body: garbage).status == 401)
        // The old path has no route to relay to.
        let old = "http://127.0.0.1:9464/webhooks/kie?secret=\(AgentHarness.callbackSecret)"
        #expect(try await deliver(h, to: old, body: garbage).status == 400)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.count == 2)
        // At the deadline recovery learns the result: the app had a callback (unread by the
        // agent), so none is missed and no second one is sent.
        kie.status.withLock { $0[id] = TaskReport(taskId: id, family: .runway, state: .success, resultURLs: ["https://cdn.example/r.mp4"]) }
        await h.runLoops(seconds: 11 * 60)
        #expect(try h.task(id)?.state == .success)
        #expect(try h.task(id)?.missed == false)
        #expect(h.app.deliveries.count == 2)
        #expect(!metrics(h).contains("kiewatch_webhooks_missed_total{"))
        // A sender repeating unreadable bodies gets each relayed, and cannot grow the task's row.
        for _ in 0..<12 { #expect(try await deliver(h, to: url, body: garbage).status == 200) }
        #expect(try h.task(id)?.callbackKinds.count == 8)
    }

    // MARK: Luma

    /// Luma's `successFlag` 4 (the generation succeeded, Kie's callback failed) seen on a status
    /// call counts the missed webhook at once and relays the callback, marked recovered.
    @Test func lumasCallbackFailedFlagCountsAMissedWebhookAtOnce() async throws {
        let (h, kie) = try harness()
        let id = try await create(h, .luma)
        var report = TaskReport(taskId: id, family: .luma, state: .success, resultURLs: ["https://cdn.example/l.mp4"])
        report.callbackFailed = true
        kie.status.withLock { $0[id] = report }
        let answer = await h.agent.router.serve(
            HTTPRequest(method: "GET", target: "/api/v1/modify/record-info?taskId=\(id)", headers: ["Authorization": "Bearer app-key"]))
        #expect(KieEnvelope(body: answer.body)?.data["successFlag"] == 4)
        await h.advance(seconds: 5)
        let relayed = try #require(h.app.deliveries.first)
        #expect(relayed.headers[SynthesizedCallback.recoveredHeader] == "true")
        let decoded = try KieWire.callback(body: try #require(relayed.json), family: .luma)
        #expect(decoded.resultURLs == ["https://cdn.example/l.mp4"] && decoded.state == .success)
        let task = try #require(try h.task(id))
        #expect(task.missed && task.state == .success)
        #expect(metrics(h).contains(#"kiewatch_webhooks_missed_total{model="luma-modify"} 1"#))
        // Kie's own callback, should it come after all, is late and not relayed again.
        #expect(try await deliver(h, to: try #require(kie.callbackURL(id)), body: callback(.luma, id: id, state: .success)).status == 200)
        await h.advance(seconds: 5)
        #expect(h.app.deliveries.count == 1)
    }

    // MARK: Recovery per family

    /// A stale task of each family is polled at that family's status endpoint and recovered
    /// with a callback in its own shape, marked recovered, counted missed once.
    @Test(arguments: TaskFamily.all)
    func aStaleTaskIsRecoveredThroughItsFamilysStatusEndpoint(family: TaskFamily) async throws {
        let (h, kie) = try harness()
        let extra: [(key: String, value: JSONValue)] = family.parentTaskSuffix != nil ? [("taskId", "parent-9"), ("index", 0)] : []
        let id = try await create(h, family, extra: extra)
        let tracked = family.trackedTaskID(kieTaskID: id, create: .object(extra))
        kie.status.withLock {
            $0[id] = TaskReport(taskId: id, family: family, state: .success, resultURLs: ["https://cdn.example/r.mp4"])
        }
        await h.runLoops(seconds: 11 * 60)
        let relayed = try #require(h.app.deliveries.first)
        #expect(h.app.deliveries.count == 1)
        #expect(relayed.headers[SynthesizedCallback.recoveredHeader] == "true")
        let decoded = try KieWire.callback(body: try #require(relayed.json), family: family)
        #expect(decoded.taskId == id && decoded.state == .success && decoded.resultURLs == ["https://cdn.example/r.mp4"])
        let polls = try h.reader().db.rows(
            "SELECT DISTINCT path, method FROM api_calls WHERE endpoint = ?1 AND method = ?2",
            [.text(family.status.label), .text(family.status.method)])
        let expected = family.status.method == "GET" ? "\(family.status.path)?\(family.status.taskIdParameter)=\(id)" : family.status.path
        #expect(polls.map { $0[0].string } == [expected])
        #expect(try h.task(tracked)?.missed == true)
        #expect(metrics(h).contains("kiewatch_webhooks_missed_total{model=\"\(try #require(try h.task(tracked)).model)\"} 1"))
    }

    // MARK: The console

    /// `stale`, `missed`, `models` and `task ID` show every family: one task of each goes past
    /// its deadline without a callback, is listed stale, then recovered and listed missed.
    @Test func theConsoleShowsEveryFamily() async throws {
        let (h, kie) = try harness()
        var tracked: [String: TaskFamily] = [:]
        for family in TaskFamily.all {
            let extra: [(key: String, value: JSONValue)] = family.parentTaskSuffix != nil ? [("taskId", "p-1"), ("index", 0)] : []
            let id = try await create(h, family, extra: extra)
            tracked[family.trackedTaskID(kieTaskID: id, create: .object(extra))] = family
            kie.status.withLock { $0[id] = TaskReport(taskId: id, family: family, state: .generating) }
        }
        func json(_ line: String) async throws -> JSONValue {
            let answer = await ConsoleCommands(reader: try h.reader(), clock: h.clock, actions: h.agent)
                .execute(line + " --json", options: AdminProtocol.SessionOptions(width: nil))
            #expect(answer.status == .ok, "\(line): \(answer.output)")
            return try JSONValue.parse(Array(answer.output.utf8))
        }
        await h.advance(seconds: 11 * 60)
        try await h.agent.flush()
        let stale = try await json("stale limit=50")
        #expect(Set(stale["tasks"]?.arrayValue?.compactMap { $0["task_id"]?.stringValue } ?? []) == Set(tracked.keys))

        for (id, family) in tracked {
            let kieID = family.kieTaskID(tracked: id)
            kie.status.withLock { $0[kieID] = TaskReport(taskId: kieID, family: family, state: .success, resultURLs: ["https://cdn.example/x"]) }
        }
        await h.runLoops(seconds: 10 * 60)
        try await h.agent.flush()
        let missed = try await json("missed 1h")
        #expect(missed["total"] == .int(Int64(tracked.count)))
        let models = Set(try await json("models 1h")["models"]?.arrayValue?.compactMap { $0["model"]?.stringValue } ?? [])
        for (id, family) in tracked {
            let task = try #require(try h.task(id))
            #expect(models.contains(task.model), "\(family): \(task.model) not in models")
            let shown = try await json("task \(id)")
            #expect(shown["task"]?["state"] == "success" && shown["task"]?["missed"] == true, "\(family)")
        }
        #expect(try await json("stale")["count"] == 0)
    }

    // MARK: Signed relays

    /// What an app that checks Kie's signature does: HMAC-SHA256 over `data.taskId` (or
    /// `data.task_id`) "." timestamp with the shared key, and a timestamp within five minutes
    /// of its own clock.
    static func appAccepts(_ delivery: FakeApp.Delivery, key: String, receivedAt now: EpochMillis) -> Bool {
        guard let stamp = delivery.headers["X-Webhook-Timestamp"], let seconds = Int64(stamp),
            let signature = delivery.headers["X-Webhook-Signature"],
            let taskID = delivery.json.flatMap({ TaskFamily.callbackTaskIDs.firstValue(in: $0["data"] ?? .null)?.stringValue })
        else { return false }
        let expected = HMACSHA256.kieSignature(key: key, taskId: taskID, timestamp: stamp)
        return signature == expected && abs(now / 1000 - seconds) <= 300
    }

    /// With `KIE_WEBHOOK_HMAC_KEY` set, an app verifying Kie's signature accepts every relay:
    /// a real one (a 4K callback, signed over the parent's id it carries), one delivered two
    /// hours late (the app was down), and a synthesized one after recovery.
    @Test func anAppVerifyingKiesSignatureAcceptsRealLateAndRecoveredRelays() async throws {
        let key = "shared-hmac-key"
        let (h, kie) = try harness { $0.webhookHMACKey = key }
        var accepted: [(String, Bool)] = []
        func run(seconds: Int) async {
            for _ in 0..<(seconds / 5) {
                let before = h.app.deliveries.count
                await h.runLoops(seconds: 5)
                for delivery in h.app.deliveries.dropFirst(before) {
                    accepted.append((delivery.url, Self.appAccepts(delivery, key: key, receivedAt: h.clock.now())))
                }
            }
        }
        func signed(_ body: [UInt8], id: String) -> HTTPHeaders {
            let stamp = String(h.clock.now() / 1000)
            return ["X-Webhook-Timestamp": stamp, "X-Webhook-Signature": HMACSHA256.kieSignature(key: key, taskId: id, timestamp: stamp)]
        }
        func deliverSigned(_ url: String, _ body: [UInt8], id: String) async throws {
            let target = try HTTPClientURL(url).pathAndQuery
            let response = await h.agent.router.serve(HTTPRequest(method: "POST", target: target, headers: signed(body, id: id), body: body))
            #expect(response.status == 200)
        }

        // Real: a 4K callback names the parent's id; the relay is signed over it.
        let parent = try await create(h, .veo)
        _ = try await create(h, .veo4K, extra: [("taskId", .string(parent)), ("index", 0)])
        try await deliverSigned(try #require(kie.callbackURL(parent)), callback(.veo4K, id: parent, state: .success), id: parent)
        await run(seconds: 5)
        // Late: the app is down for two hours; the relay goes when it is back, signed then.
        let runway = try await create(h, .runway)
        h.app.down.store(true, ordering: .relaxed)
        try await deliverSigned(try #require(kie.callbackURL(runway)), callback(.runway, id: runway, state: .success), id: runway)
        await run(seconds: 2 * 3600)
        h.app.down.store(false, ordering: .relaxed)
        await run(seconds: 3600)
        // Recovered: Kie's callback never comes; recovery relays one the agent made.
        let suno = try await create(h, .suno)
        kie.status.withLock { $0[suno] = TaskReport(taskId: suno, family: .suno, state: .success, resultURLs: ["https://cdn.example/s.mp3"]) }
        await run(seconds: 20 * 60)

        #expect(accepted.map(\.0) == [appURL(.veo4K), appURL(.runway), appURL(.suno)])
        #expect(accepted.map(\.1) == [true, true, true])
        // Fresh at receipt (`appAccepts` allows five minutes): the late relay was signed when it
        // went, not with the timestamp Kie signed two hours before.
        #expect(h.app.deliveries.last?.headers[SynthesizedCallback.recoveredHeader] == "true")
    }
}
