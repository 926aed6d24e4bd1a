import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import Synchronization
import Testing

@Suite struct WebhookAuthenticatorTests {
    let auth = WebhookAuthenticator(secret: "s3cr3t", hmacKey: "hk")

    @Test func secretInQueryOrBearer() {
        #expect(auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie?secret=s3cr3t")) == .ok)
        #expect(auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie?x=1&secret=s3cr3t")) == .ok)
        #expect(
            auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie", headers: ["authorization": "Bearer s3cr3t"]))
                == .ok)
        #expect(auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie?secret=nope")) == .badSecret)
        #expect(auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie?secret=")) == .missingSecret)
        #expect(auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie")) == .missingSecret)
        #expect(
            auth.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie", headers: ["Authorization": "Basic s3cr3t"]))
                == .missingSecret)
    }

    @Test func noSecretConfiguredAcceptsAll() {
        let open = WebhookAuthenticator(secret: nil, hmacKey: nil)
        #expect(open.checkSecret(HTTPRequest(method: "POST", target: "/webhooks/kie")) == .ok)
        #expect(!open.requiresSecret)
    }

    @Test func signatureWithTimestampWindow() {
        let now: EpochMillis = 1_700_000_000_000
        func request(sig: String?, ts: String?) -> HTTPRequest {
            var h = HTTPHeaders()
            if let sig { h.add("X-Webhook-Signature", sig) }
            if let ts { h.add("X-Webhook-Timestamp", ts) }
            return HTTPRequest(method: "POST", target: "/webhooks/kie", headers: h)
        }
        let good = HMACSHA256.kieSignature(key: "hk", taskId: "t1", timestamp: "1700000000")
        #expect(auth.checkSignature(request(sig: good, ts: "1700000000"), taskId: "t1", now: now) == .ok)
        #expect(auth.checkSignature(request(sig: good, ts: "1700000000"), taskId: "t2", now: now) == .badSignature)
        #expect(auth.checkSignature(request(sig: nil, ts: "1700000000"), taskId: "t1", now: now) == .missingSignature)
        let old = HMACSHA256.kieSignature(key: "hk", taskId: "t1", timestamp: "1699990000")
        #expect(auth.checkSignature(request(sig: old, ts: "1699990000"), taskId: "t1", now: now) == .staleTimestamp)
        #expect(auth.checkSignature(request(sig: good, ts: "soon"), taskId: "t1", now: now) == .staleTimestamp)
    }

    /// `seconds * 1000` used to trap for any |value| above ~9.2e15: a remote kill switch for
    /// whoever could reach the webhook path. Signed correctly or not, these are stale (401).
    @Test(arguments: [
        "9223372036854775807", "-9223372036854775808", "9223372036854776", "-9223372036854776",
        "  9223372036854775807", "+9223372036854775807", "0009223372036854775807", " +0009223372036854776 ",
        "9223372036854775808", "-1", "0",
    ])
    func hugeOrOddlySpelledTimestampsAreStaleNeverATrap(_ timestamp: String) {
        let now: EpochMillis = 1_700_000_000_000
        let signed = HMACSHA256.kieSignature(key: "hk", taskId: "t1", timestamp: timestamp)
        let request = HTTPRequest(
            method: "POST", target: "/webhooks/kie",
            headers: ["X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": signed])
        #expect(auth.checkSignature(request, taskId: "t1", now: now) == .staleTimestamp)
        // Whatever `now` is, too.
        #expect(auth.checkSignature(request, taskId: "t1", now: .max) != .ok)
        #expect(auth.checkSignature(request, taskId: "t1", now: .min) != .ok)
    }

    /// A fresh time spelled with spaces, `+` or leading zeros is a number like any other; the
    /// signature covers the text as sent.
    @Test(arguments: [" 1700000000", "+1700000000", "0001700000000", "1700000299", "1699999701"])
    func freshTimestampsInAnySpellingAreChecked(_ timestamp: String) {
        let now: EpochMillis = 1_700_000_000_000
        let signed = HMACSHA256.kieSignature(key: "hk", taskId: "t1", timestamp: timestamp)
        let request = HTTPRequest(
            method: "POST", target: "/webhooks/kie",
            headers: ["X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": signed])
        #expect(auth.checkSignature(request, taskId: "t1", now: now) == .ok)
    }
}

@Suite struct DeadlinePolicyTests {
    @Test func configBeatsLearnedBeatsDefault() throws {
        let config = try ConfigFile.parse("deadline.sora-2-pro = 25m\ndeadline.default = 12m", path: "k.conf")
        var settings = try DeadlinePolicy.settings(from: config)
        settings.minimumSamples = 10
        let policy = DeadlinePolicy(settings: settings)
        #expect(policy.deadline(for: "sora-2-pro") == .init(millis: 1_500_000, reason: "config deadline.sora-2-pro"))
        #expect(policy.deadline(for: "kling-2.6/text-to-video") == .init(millis: 720_000, reason: "config deadline.default"))
        // The config file wins over what is learned.
        for i in 1...100 { policy.observe(model: "kling-2.6/text-to-video", durationMillis: Int64(i) * 1000) }
        #expect(policy.deadline(for: "kling-2.6/text-to-video").reason == "config deadline.default")

        var learning = DeadlinePolicy.Settings()
        learning.minimumSamples = 10
        let learned = DeadlinePolicy(settings: learning)
        #expect(learned.deadline(for: "kling-2.6/text-to-video") == .init(millis: 900_000, reason: "built-in default"))
        for i in 1...100 { learned.observe(model: "kling-2.6/text-to-video", durationMillis: Int64(i) * 1000) }
        // p95 of 1…100 s is 95 s; ×3 = 285 s.
        #expect(
            learned.deadline(for: "kling-2.6/text-to-video")
                == .init(millis: 285_000, reason: "learned: p95 1m35s x3 of 100 tasks"))
        for _ in 1...100 { learned.observe(model: "fast", durationMillis: 900) }
        #expect(learned.deadline(for: "fast") == .init(millis: 120_000, reason: "learned: p95 900ms x3 of 100 tasks (clamped)"))
    }

    @Test func badConfigNamesTheKey() throws {
        let config = try ConfigFile.parse("deadline.veo3 = soon", path: "k.conf")
        #expect(throws: ConfigError("k.conf:1: deadline.veo3: expected a duration such as 500ms, 30s, 15m, 2h or 14d, got 'soon'")) {
            try DeadlinePolicy.settings(from: config)
        }
    }
}

@Suite struct SchedulesTests {
    @Test func recoveryCadenceFollowsKie() {
        let c = RecoveryCadence(giveUpAfterMillis: 15 * 60_000)
        #expect(c.nextPoll(startedAt: 0, now: 0) == 3_000)
        #expect(c.nextPoll(startedAt: 0, now: 29_000) == 32_000)
        #expect(c.nextPoll(startedAt: 0, now: 30_000) == 40_000)
        #expect(c.nextPoll(startedAt: 0, now: 120_000) == 150_000)
        #expect(c.nextPoll(startedAt: 0, now: 15 * 60_000) == nil)
    }

    @Test func relayBackoffSchedule() {
        let b = RelayBackoff(giveUpAfterMillis: 24 * 3_600_000)
        let delays = (1...8).map { b.nextAttempt(afterFailedAttempts: $0, firstAttemptAt: 0, now: 0) }
        #expect(delays == [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000])
        #expect(b.nextAttempt(afterFailedAttempts: 9, firstAttemptAt: 0, now: 23 * 3_600_000 + 1) == nil)
    }

    @Test func tokenBucketHoldsTheRate() {
        let clock = TestClock(0)
        let bucket = TokenBucket(ratePerSecond: 5, burst: 1, clock: clock)
        var granted = 0
        for _ in 0..<10_000 {  // 10 s in 1 ms steps
            if bucket.tryAcquire() { granted += 1 }
            clock.advance(byMillis: 1)
        }
        #expect(granted == 50)
        #expect(bucket.tryAcquire())  // the token of t = 10 s
        #expect(!bucket.tryAcquire())
        #expect(bucket.millisUntilAvailable() > 0)
    }

    @Test func createRateWindow() {
        let clock = TestClock(0)
        let w = CreateRateWindow(clock: clock)
        for _ in 0..<10 { w.record(); clock.advance(byMillis: 500) }
        #expect(w.count() == 10)
        #expect(w.utilization() == 0.5)
        clock.advance(byMillis: 6_000)  // now 11 s: the records of 0, 0.5 and 1 s are older than 10 s
        #expect(w.count() == 7)
        clock.advance(byMillis: 10_000)
        #expect(w.utilization() == 0)
    }
}

@Suite struct SynthesizedCallbackTests {
    @Test func marketPassesTheRecordThrough() throws {
        let data: JSONValue = ["taskId": "t", "model": "m", "state": "success", "resultJson": #"{"resultUrls":["u"]}"#]
        let report = try KieWire.record(data, family: .market)
        let body = SynthesizedCallback.body(for: report, statusData: data)
        #expect(body["code"] == 200)
        #expect(body["data"] == data)
        // What the app receives decodes as the callback Kie would have sent.
        let decoded = try KieWire.callback(try #require(KieEnvelope(json: body)), family: .market)
        #expect(decoded == report)
    }

    @Test func veoSuccessAndFailureShapes() throws {
        let data: JSONValue = [
            "taskId": "v", "successFlag": 1,
            "response": ["resultUrls": ["a"], "originUrls": ["o"], "resolution": "1080p"],
        ]
        let body = SynthesizedCallback.body(for: try KieWire.record(data, family: .veo), statusData: data)
        #expect(body["data"]?["info"]?["resultUrls"] == ["a"])
        #expect(body["data"]?["info"]?["resolution"] == "1080p")
        #expect(try KieWire.callback(try #require(KieEnvelope(json: body)), family: .veo).state == .success)

        let failed: JSONValue = ["taskId": "v", "successFlag": 2, "errorCode": 422, "errorMessage": "flagged"]
        let failBody = SynthesizedCallback.body(for: try KieWire.record(failed, family: .veo), statusData: failed)
        #expect(failBody["code"] == 422 && failBody["msg"] == "flagged")
        let odd: JSONValue = ["taskId": "v", "successFlag": 3, "errorCode": 999]
        #expect(SynthesizedCallback.body(for: try KieWire.record(odd, family: .veo), statusData: odd)["code"] == 501)
    }

    /// A 501/408 status answer comes without a record: the callback is still the family's
    /// failure callback, naming the task, its model and the failure.
    @Test func aFailureFromAStatusCodeWithoutARecordIsAFailureCallback() throws {
        for code in [501, 408] {
            let envelope = KieEnvelope(code: code, message: "gone wrong", data: .null)
            var market = try #require(KieWire.statusAnswer(envelope, httpStatus: 200, family: .market, taskId: "t").report)
            market.model = "kling-2.6/text-to-video"
            let body = SynthesizedCallback.body(for: market, statusData: .null)
            #expect(body["code"] == 501 && body["msg"] == "Playground task failed.")
            #expect(body["data"] == [
                "taskId": "t", "model": "kling-2.6/text-to-video", "state": "fail", "resultJson": nil,
                "failCode": .string(String(code)), "failMsg": "gone wrong",
            ])
            let decoded = try KieWire.callback(try #require(KieEnvelope(json: body)), family: .market)
            #expect(decoded.state == .fail && decoded.failCode == String(code) && decoded.failMessage == "gone wrong")

            let veo = try #require(KieWire.statusAnswer(envelope, httpStatus: 200, family: .veo, taskId: "v").report)
            let veoBody = SynthesizedCallback.body(for: veo, statusData: .null)
            #expect(veoBody == ["code": .int(Int64(code)), "msg": "gone wrong", "data": ["taskId": "v", "fallbackFlag": false]])
        }
    }

    @Test func aRecordThatDisagreesWithTheCodeIsCompletedWithTheFailure() throws {
        // 501 beside a record still saying "generating": the record is kept, the state and failure set.
        let data: JSONValue = ["taskId": "t", "model": "m", "state": "generating", "param": "{}", "failCode": "", "failMsg": ""]
        let envelope = KieEnvelope(code: 501, message: "failed", data: data)
        let report = try #require(KieWire.statusAnswer(envelope, httpStatus: 200, family: .market, taskId: "t").report)
        let body = SynthesizedCallback.body(for: report, statusData: data)
        #expect(body["data"] == ["taskId": "t", "model": "m", "state": "fail", "param": "{}", "failCode": "501", "failMsg": "failed", "resultJson": nil])
    }
}

@Suite struct IdleMemoryTrimTests {
    @Test func trimsOncePerQuietSpellNeverUnderLoad() {
        let served = Mutex(0)
        let trims = Mutex(0)
        let trim = IdleMemoryTrim(activity: { served.withLock { $0 } }, release: { trims.withLock { $0 += 1 } })
        // Quiet since startup: the first tick trims what opening the store left, the next do not.
        #expect(trim.tick())
        #expect(!trim.tick())
        #expect(trims.withLock { $0 } == 1)
        // Requests between every tick: no trim.
        for _ in 0..<5 {
            served.withLock { $0 += 100 }
            #expect(!trim.tick())
        }
        // The burst is over: one trim, then nothing until the next burst.
        #expect(trim.tick())
        #expect(!trim.tick())
        #expect(!trim.tick())
        served.withLock { $0 += 1 }
        #expect(!trim.tick())
        #expect(trim.tick())
        #expect(trims.withLock { $0 } == 3)
    }

    @Test func theRealTrimRuns() {
        // glibc's malloc_trim, on this process: quiet since init, so it runs and returns.
        #expect(IdleMemoryTrim(activity: { 0 }).tick())
    }
}
