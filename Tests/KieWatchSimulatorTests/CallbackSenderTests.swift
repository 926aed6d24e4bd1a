import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

@Suite struct CallbackSenderTests {
    @Test func urlSessionSenderReportsATransportErrorWhenNothingListens() async {
        // Port 1 on loopback refuses at once: no waiting on a timeout.
        let result = await URLSessionCallbackSender().post(
            url: "http://127.0.0.1:1/webhooks/kie", body: Array("{}".utf8), headers: ["Content-Type": "application/json"],
            timeout: .seconds(5))
        #expect(!result.isSuccess)
        #expect(result != .timedOut)
    }

    @Test func urlSessionSenderRefusesNonHTTPURLs() async {
        let result = await URLSessionCallbackSender().post(url: "ftp://x/y", body: [], headers: [:], timeout: .seconds(1))
        #expect(result == .transportError("invalid callback URL"))
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
