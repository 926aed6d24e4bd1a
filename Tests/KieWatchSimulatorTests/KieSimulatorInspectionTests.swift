import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// `GET /_simulator/stats` and `/_simulator/tasks`: what they report, and that looking changes nothing.
@Suite struct KieSimulatorInspectionTests {
    @Test func statsAnswerTheSnapshotUnderSnakeCaseNames() async throws {
        let h = Harness { $0.dropCallbackRate = 1 }
        try #require(await h.createMarket(model: "kling-2.6/text-to-video") != nil)
        try #require(await h.createMarket(model: "sora-2-text-to-video") != nil)
        try #require(await h.createVeo() != nil)
        await h.advance(millis: 3_600_000)
        let snapshot = h.simulator.snapshot()

        let answer = await h.request("GET", "/_simulator/stats", key: nil)
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json == snapshot.json)
        #expect(
            json["tasks_created"]
                == ["kling-2.6/text-to-video": 1, "sora-2-text-to-video": 1, "veo3_fast": 1])
        #expect(json["tasks_created_total"]?.intValue == 3)
        #expect(json["callbacks_dropped"]?.intValue == 3)
        #expect(json["callbacks_sent"]?.intValue == 0)
        #expect(json["requests"]?.intValue == Int64(snapshot.requests))
    }

    @Test func tasksListFatesAndAttemptsInCreationOrderWithoutURLs() async throws {
        let sender = RecordingSender(failures: [.transportError("connect failed: http://x/cb?secret=hush")])
        let h = Harness(sender: sender) {
            $0.callbackRetryDelay = .zero
            $0.duplicateCallbackRate = 1
        }
        let first = try #require(await h.createMarket(callBackUrl: "http://127.0.0.1:9464/webhooks/kie?secret=hush"))
        h.clock.advance(byMillis: 1)
        let second = try #require(await h.createMarket(callBackUrl: nil))
        let running = try #require(await h.request("GET", "/_simulator/tasks").json)
        #expect(running["tasks"]?.arrayValue?.map { $0["task_id"]?.stringValue } == [first, second])
        #expect(running["tasks"]?.arrayValue?.first?["state"]?.stringValue == "waiting")

        await h.advance(millis: 3_600_000)
        let answer = await h.request("GET", "/_simulator/tasks")
        let json = try #require(answer.json)
        let tasks = try #require(json["tasks"]?.arrayValue)
        #expect(tasks.count == 2)
        let withCallback = tasks[0]
        #expect(withCallback["state"]?.stringValue == "success")
        #expect(withCallback["outcome"]?.stringValue == "success")
        #expect(withCallback["callback"]?.stringValue == "scheduled")
        let copies = try #require(withCallback["callback_copies"]?.intValue)
        #expect(copies >= 2)
        let attempts = try #require(withCallback["deliveries"]?.arrayValue)
        // The first attempt failed and was retried; every copy was delivered in the end.
        #expect(attempts.count == Int(copies) + 1)
        // Copies go out together, so the failed attempt is not necessarily listed first.
        let failed = attempts.filter { $0["delivered"] == false }
        #expect(failed.count == 1)
        #expect(failed.first?["result"]?.stringValue == "transport error: connect failed: http://x/cb?secret=REDACTED")
        #expect(attempts.filter { $0["delivered"] == true }.count == Int(copies))
        #expect(tasks[1]["callback"]?.stringValue == "none")
        #expect(tasks[1]["deliveries"] == [])
        #expect(json["deliveries_complete"] == true)
        #expect(!String(decoding: answer.body, as: UTF8.self).contains("hush"))
    }

    @Test func inspectionIsNotCountedFaultedOrKeyed() async throws {
        let h = Harness {
            $0.connectionResetRate = 1
            $0.serverErrorRate = 1
            $0.acceptedKeys = ["only-this-key"]
        }
        for _ in 0..<3 {
            let answer = await h.request("GET", "/_simulator/stats", key: nil)
            #expect(answer.status == 200)
            #expect(answer.json?["requests"]?.intValue == 0)
        }
        #expect(h.simulator.snapshot() == SimulatorStats(creditsRemaining: 100_000))
    }

    @Test func onlyGETOnKnownPaths() async {
        let h = Harness()
        #expect(await h.request("POST", "/_simulator/stats", body: "{}").status == 405)
        #expect(await h.request("GET", "/_simulator/nothing").status == 404)
        #expect(h.simulator.snapshot().requests == 0)
    }
}

extension SimulatorStats {
    fileprivate init(creditsRemaining: Int64) {
        self.init()
        self.creditsRemaining = creditsRemaining
    }
}
