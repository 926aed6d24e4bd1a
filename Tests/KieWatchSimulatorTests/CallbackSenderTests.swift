import KieWatchCore
import KieWatchHTTP
import Synchronization
import Testing

@testable import KieWatchSimulator

@Suite struct CallbackSenderTests {
    @Test func senderReportsATransportErrorWhenNothingListens() async {
        // Port 1 on loopback refuses at once: no waiting on a timeout.
        let result = await TransportCallbackSender().post(
            url: "http://127.0.0.1:1/webhooks/kie", body: Array("{}".utf8), headers: ["Content-Type": "application/json"],
            timeout: .seconds(5))
        #expect(!result.isSuccess)
        #expect(result != .timedOut)
    }

    @Test func senderRefusesNonHTTPURLs() async {
        let result = await TransportCallbackSender().post(url: "ftp://x/y", body: [], headers: [:], timeout: .seconds(1))
        #expect(!result.isSuccess)
        #expect(result != .timedOut)
    }

    @Test func senderDeliversToARealServer() async throws {
        let received = Mutex<[String]>([])
        let server = HTTPServer(handler: ClosureHandler { request in
            received.withLock { $0.append(String(decoding: request.body, as: UTF8.self)) }
            return .json(["code": 200])
        })
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let result = await TransportCallbackSender().post(
            url: "http://127.0.0.1:\(port)/webhooks/kie", body: Array("{\"a\":1}".utf8), headers: [:], timeout: .seconds(60))
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(result == .status(200))
        #expect(received.withLock { $0 } == ["{\"a\":1}"])
    }

    @Test func runDeliversDueCallbacksAndStopsWhenCancelled() async throws {
        let sender = StreamingSender()
        let clock = TestClock()
        var configuration = SimulatorConfiguration()
        configuration.speed = 1000
        let simulator = KieSimulator(configuration: configuration, clock: clock, callbackSender: sender)
        let answer = await simulator.handle(
            HTTPRequest(
                method: "POST", target: "/api/v1/jobs/createTask", headers: ["Authorization": "Bearer k"],
                body: Array(#"{"model":"grok-imagine/text-to-video","callBackUrl":"http://x/cb","input":{"prompt":"p"}}"#.utf8)))
        let id = try #require(answer.json?["data"]?["taskId"]?.stringValue)
        clock.advance(byMillis: 3_600_000)
        let runner = Task { await simulator.run() }
        // Waits for the event itself, not for a fixed time.
        let delivered = await sender.next()
        #expect(delivered == id)
        runner.cancel()
        await runner.value
        #expect(simulator.snapshot().callbacksDelivered == 1)
    }
}

/// A sender that publishes the task id of every post on a stream.
final class StreamingSender: CallbackSender {
    private let stream = AsyncStream<String>.makeStream()

    func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        stream.continuation.yield((try? JSONValue.parse(body))?["data"]?["taskId"]?.stringValue ?? "")
        return .status(200)
    }

    func next() async -> String? {
        for await id in stream.stream { return id }
        return nil
    }
}
