import KieWatchCore
import KieWatchHTTP
import Synchronization
import Testing

@testable import KieWatchSimulator

/// Delivery, retries, signing, early callbacks, determinism.
@Suite struct KieSimulatorCallbacksTests {
    @Test func failedDeliveriesAreRetriedAfterTheScaledDelayAndStopAfterThreeRetries() async throws {
        let h = Harness(sender: RecordingSender(failures: Array(repeating: .status(500), count: 10))) {
            $0.callbackRetryDelay = .seconds(30)
            $0.speed = 10
        }
        let id = try #require(await h.createMarket())
        let task = try #require(h.simulator.task(id: id))
        await h.advance(millis: task.completeAt - h.clock.now())
        #expect(h.sender.received.count == 1)
        // 30 s / speed 10 = 3 s between attempts; nothing before that.
        await h.advance(millis: 2_999)
        #expect(h.sender.received.count == 1)
        await h.advance(millis: 1)
        #expect(h.sender.received.count == 2)
        for expected in 3...4 {
            await h.advance(millis: 3_000)
            #expect(h.sender.received.count == expected)
        }
        await h.advance(millis: 3_600_000)
        #expect(h.sender.received.count == 4)
        let deliveries = h.simulator.deliveries()
        #expect(deliveries.map(\.attempt) == [1, 2, 3, 4])
        #expect(deliveries.allSatisfy { $0.result == .status(500) && $0.taskId == id })
        #expect(zip(deliveries.dropFirst(), deliveries).allSatisfy { $0.time - $1.time == 3_000 })
        let stats = h.simulator.snapshot()
        #expect(stats.callbacksSent == 4 && stats.callbackRetries == 3 && stats.callbacksFailedDelivery == 1)
        #expect(stats.callbacksDelivered == 0)
    }

    @Test func retriesStopOnceTheReceiverRecovers() async throws {
        let h = Harness(sender: RecordingSender(failures: [.transportError("connection refused"), .timedOut])) {
            $0.callbackRetryDelay = .zero
        }
        try #require(await h.createMarket() != nil)
        await h.advance(millis: 3_600_000)
        #expect(h.simulator.deliveries().map(\.result) == [.transportError("connection refused"), .timedOut, .status(200)])
        let stats = h.simulator.snapshot()
        #expect(stats.callbacksDelivered == 1 && stats.callbackRetries == 2 && stats.callbacksFailedDelivery == 0)
    }

    @Test func anyNon2xxAnswerCountsAsAFailure() {
        #expect(CallbackResult.status(204).isSuccess)
        #expect(!CallbackResult.status(301).isSuccess)
        #expect(!CallbackResult.status(401).isSuccess)
        #expect(!CallbackResult.timedOut.isSuccess)
    }

    @Test func callbacksCarryTheHMACHeadersWhenAKeyIsSet() async throws {
        let h = Harness { $0.webhookHMACKey = "whsec_test" }
        let id = try #require(await h.createVeo())
        let task = try #require(h.simulator.task(id: id))
        await h.advance(millis: task.completeAt - h.clock.now() + 1500)
        let post = try #require(h.sender.received.first)
        let timestamp = try #require(post.headers["X-Webhook-Timestamp"])
        #expect(timestamp == String(h.clock.now() / 1000))
        let expected = Base64.encode(
            HMACSHA256.authenticationCode(key: Array("whsec_test".utf8), message: Array("\(id).\(timestamp)".utf8)))
        #expect(post.headers["X-Webhook-Signature"] == expected)
    }

    @Test func noSignatureHeadersWithoutAKey() async throws {
        let h = Harness()
        try #require(await h.createMarket() != nil)
        await h.advance(millis: 3_600_000)
        let post = try #require(h.sender.received.first)
        #expect(post.headers["X-Webhook-Signature"] == nil && post.headers["X-Webhook-Timestamp"] == nil)
    }

    @Test func earlyCallbackIsDeliveredBeforeTheCreateAnswer() async throws {
        let h = Harness { $0.earlyCallbackRate = 1 }
        let id = try #require(await h.createMarket())
        // No tick, no clock movement: the callback went out inside handle(_:), before it returned.
        let post = try #require(h.sender.received.first)
        #expect(post.json?["data"]?["taskId"]?.stringValue == id)
        #expect(post.json?["data"]?["state"] == "success")
        #expect(await h.recordInfo(id)?["data"]?["state"] == "success")
        #expect(h.simulator.snapshot().callbacksEarly == 1)
    }

    @Test func earlyCallbackWaitsForTheReceiverBeforeAnswering() async throws {
        // A receiver that looks at the simulator while the create is still in flight.
        let gate = GatedSender()
        let clock = TestClock()
        var configuration = SimulatorConfiguration()
        configuration.earlyCallbackRate = 1
        let simulator = KieSimulator(configuration: configuration, clock: clock, callbackSender: gate)
        let answered = Mutex(false)
        let create = Task {
            defer { answered.withLock { $0 = true } }
            return await simulator.handle(
                HTTPRequest(
                    method: "POST", target: "/api/v1/jobs/createTask", headers: ["Authorization": "Bearer k"],
                    body: Array(#"{"model":"kling-2.6/text-to-video","callBackUrl":"http://x/cb","input":{"prompt":"p"}}"#.utf8))
            )
        }
        let callbackTaskId = await gate.waitForPost()
        // The receiver is holding the callback: the create must still be waiting for it.
        for _ in 0..<100 { await Task.yield() }
        #expect(answered.withLock { $0 } == false)
        gate.release()
        let answer = await create.value
        #expect(answer.json?["data"]?["taskId"]?.stringValue == callbackTaskId)
    }

    @Test func sameSeedAndRequestsGiveTheSameRun() async throws {
        func run(seed: UInt64) async -> ([CallbackDelivery], SimulatorStats, [Int], [String?]) {
            // Failures chosen by body, not by arrival order: callbacks due at the same moment
            // are sent concurrently, and which arrives first is the scheduler's choice.
            let sender = RecordingSender { body in
                switch body.reduce(0, { ($0 &* 31 &+ Int($1)) & 0xFFFF }) % 16 {
                case 0: .status(503)
                case 1: .timedOut
                case 2: .status(500)
                default: .status(200)
                }
            }
            let h = Harness(sender: sender) {
                $0.seed = seed
                $0.speed = 100
                $0.rateLimit = nil
                $0.failureRate = 0.2
                $0.dropCallbackRate = 0.1
                $0.duplicateCallbackRate = 0.1
                $0.lateCallbackRate = 0.1
                $0.earlyCallbackRate = 0.05
                $0.serverErrorRate = 0.05
                $0.connectionResetRate = 0.05
                $0.slowAnswerRate = 0.05
                $0.slowAnswerDelay = .zero
            }
            var statuses: [Int] = []
            var ids: [String?] = []
            for i in 0..<200 {
                ids.append(i.isMultiple(of: 3) ? await h.createVeo() : await h.createMarket(model: i.isMultiple(of: 2) ? "sora-2-text-to-video" : "kling-2.6/text-to-video"))
                statuses.append(await h.request("GET", "/api/v1/chat/credit").status)
                await h.advance(millis: 250)
            }
            await h.advance(millis: 3_600_000)
            return (h.simulator.deliveries(), h.simulator.snapshot(), statuses, ids)
        }
        let a = await run(seed: 42)
        let b = await run(seed: 42)
        let c = await run(seed: 43)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.2 == b.2)
        #expect(a.3 == b.3)
        #expect(a.0.count > 100)
        #expect(a.3 != c.3)
        #expect(a.0 != c.0)
    }
}

/// A sender that holds the first post until released, to observe the create handler mid-flight.
final class GatedSender: CallbackSender {
    private let posted = AsyncStream<String>.makeStream()
    private let gate = AsyncStream<Void>.makeStream()

    func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        let taskId = (try? JSONValue.parse(body))?["data"]?["taskId"]?.stringValue ?? ""
        posted.continuation.yield(taskId)
        for await _ in gate.stream { break }
        return .status(200)
    }

    func waitForPost() async -> String {
        for await id in posted.stream { return id }
        return ""
    }

    func release() { gate.continuation.yield() }
}

@Suite struct DeliveryLogTests {
    @Test func theDeliveryLogForgetsTheOldestPastItsLimitButCountersDoNot() async {
        let h = Harness {
            $0.maxRecordedDeliveries = 10
            $0.rateLimit = nil
            $0.speed = 1000
        }
        var ids: [String] = []
        for _ in 0..<30 {
            if let id = await h.createMarket() { ids.append(id) }
            await h.advance(millis: 1_000)
        }
        await h.advance(millis: 3_600_000)
        let log = h.simulator.deliveries()
        #expect(log.count >= 10 && log.count <= 11)
        #expect(log.last?.taskId == ids.last)
        #expect(h.simulator.snapshot().callbacksSent == 30)
    }
}
