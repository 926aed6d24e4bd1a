import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

/// 2026-01-01T00:00:00Z (minute-aligned); the fixture's events happen in the hour after it,
/// and every command runs at `now` = 01:00:00.
let t0: EpochMillis = 1_767_225_600_000
let minute: EpochMillis = 60_000
let now: EpochMillis = t0 + 60 * minute
let kling = "kling-2.6/text-to-video"
/// The app's callback URL: its secret must never reach console output.
let appURL = "https://app.example/hook?secret=abc&x=1"

/// A store with known contents, built through the real writer so the rollups are the ones
/// the agent would have written.
///
/// - kling: 4 creates at 1 s (one answered 429), 2 status polls; task k1 succeeded in 2 min
///   (callback 1 s after Kie finished, then a duplicate 5 s after), k2 failed in 1 min.
/// - veo3: 2 generates at 3 s, one status poll that timed out; v1 stale (deadline 30 min ago,
///   2 polls), v2 finished in 3 min but its webhook was missed and recovery found it, relayed
///   after one failed attempt; v3 running within its deadline; one unauthorized callback.
/// - one 429 two hours before t0 (inside `24h`, outside `1h`); one credit check; a pending relay.
struct ConsoleFixture {
    let database: TemporaryDatabase
    var path: String { database.path }

    static func make() async throws -> ConsoleFixture {
        let database = try TemporaryDatabase()
        var configuration = StoreConfiguration()
        configuration.clock = TestClock(t0)
        let writer = try StoreWriter(path: database.path, configuration: configuration)
        try await writer.write { ctx in
            for i in 0..<4 {
                let failed = i == 3
                try ctx.insert(APICallRecord(
                    ts: t0 + 10 * minute + Int64(i) * 1_000, endpoint: .createTask, model: kling, taskID: i == 0 ? "k1" : nil,
                    method: "POST", path: "/api/v1/jobs/createTask", httpStatus: 200, bodyCode: failed ? 429 : 200,
                    latencyMicros: 1_000_000, outcome: failed ? .apiError : .ok))
            }
            for i in 0..<2 {
                try ctx.insert(APICallRecord(
                    ts: t0 + 11 * minute + Int64(i) * 1_000, endpoint: .recordInfo, model: kling, taskID: "k1",
                    method: "GET", path: "/api/v1/jobs/recordInfo?taskId=k1", httpStatus: 200, bodyCode: 200,
                    latencyMicros: 200_000, outcome: .ok))
            }
            for i in 0..<2 {
                try ctx.insert(APICallRecord(
                    ts: t0 + 5 * minute + Int64(i) * 1_000, endpoint: .veoGenerate, model: "veo3",
                    taskID: i == 0 ? "v2" : nil, method: "POST", path: "/api/v1/veo/generate", httpStatus: 200,
                    bodyCode: 200, latencyMicros: 3_000_000, outcome: .ok))
            }
            try ctx.insert(APICallRecord(
                ts: t0 + 50 * minute, endpoint: .veoRecordInfo, model: "veo3", taskID: "v1", method: "GET",
                path: "/api/v1/veo/record-info?taskId=v1", httpStatus: 504, latencyMicros: 30_000_000, outcome: .timeout,
                error: "upstream timed out"))
            try ctx.insert(APICallRecord(
                ts: t0 + 30 * minute, endpoint: .credit, method: "GET", path: "/api/v1/chat/credit", httpStatus: 200,
                bodyCode: 200, latencyMicros: 100_000, outcome: .ok))
            try ctx.insert(APICallRecord(
                ts: t0 - 120 * minute, endpoint: .createTask, model: kling, method: "POST", path: "/api/v1/jobs/createTask",
                httpStatus: 200, bodyCode: 429, latencyMicros: 50_000, outcome: .apiError))

            try ctx.save(TaskRecord(
                taskID: "k1", family: .market, model: kling, state: .success, createdAt: t0 + 10 * minute,
                updatedAt: t0 + 12 * minute + 1_000, completedAt: t0 + 12 * minute, finishedAt: t0 + 12 * minute + 1_000,
                callbackURL: appURL, expectsCallback: true, deadlineAt: t0 + 25 * minute,
                lastCallbackAt: t0 + 12 * minute + 1_000, callbacksReceived: 1, resultSource: .callback,
                creditsConsumed: 10))
            try ctx.save(TaskRecord(
                taskID: "k2", family: .market, model: kling, state: .fail, createdAt: t0 + 15 * minute,
                updatedAt: t0 + 16 * minute, completedAt: t0 + 16 * minute, finishedAt: t0 + 16 * minute,
                resultSource: .proxy, failCode: "501", failMessage: "content policy"))
            try ctx.save(TaskRecord(
                taskID: "v1", family: .veo, model: "veo3", state: .generating, createdAt: t0 + 20 * minute,
                callbackURL: appURL, expectsCallback: true, deadlineAt: t0 + 30 * minute, recoveryAttempts: 2,
                nextPollAt: t0 + 62 * minute))
            try ctx.save(TaskRecord(
                taskID: "v2", family: .veo, model: "veo3", state: .success, createdAt: t0 + 5 * minute,
                updatedAt: t0 + 40 * minute, completedAt: t0 + 8 * minute, finishedAt: t0 + 40 * minute,
                callbackURL: appURL, expectsCallback: true, deadlineAt: t0 + 15 * minute,
                recoveredAt: t0 + 40 * minute, recoveryAttempts: 1, resultSource: .recovery, creditsConsumed: 20,
                missed: true))
            try ctx.save(TaskRecord(
                taskID: "v3", family: .veo, model: "veo3", state: .generating, createdAt: t0 + 45 * minute,
                callbackURL: appURL, expectsCallback: true, deadlineAt: t0 + 120 * minute))

            try ctx.insert(WebhookRecord(
                ts: t0 + 12 * minute + 1_000, family: .market, taskID: "k1", model: kling, state: .success, auth: .ok,
                result: .accepted, delayMillis: 1_000, body: Array(#"{"code":200}"#.utf8)))
            try ctx.insert(WebhookRecord(
                ts: t0 + 12 * minute + 5_000, family: .market, taskID: "k1", model: kling, state: .success, auth: .ok,
                result: .duplicate, delayMillis: 5_000, body: Array(#"{"code":200}"#.utf8)))
            try ctx.insert(WebhookRecord(
                ts: t0 + 50 * minute, family: .veo, taskID: "v1", model: "veo3", auth: .badSecret, result: .unauthorized,
                body: Array(#"{"code":200}"#.utf8)))

            try ctx.insert(RecoveryRecord(ts: t0 + 40 * minute, taskID: "v2", model: "veo3", result: .recovered,
                                          detail: "success"))
            let relay = try ctx.enqueueRelay(RelayOutboxItem(
                taskID: "v2", url: appURL, body: Array("{}".utf8), synthesized: true, createdAt: t0 + 40 * minute,
                nextAttemptAt: t0 + 41 * minute, attempts: 2, state: .delivered, lastStatus: 200,
                deliveredAt: t0 + 41 * minute))
            try ctx.insert(RelayAttemptRecord(outboxID: relay, ts: t0 + 40 * minute + 1_000, httpStatus: 500,
                                              error: "POST \(appURL) answered 500", durationMicros: 20_000))
            try ctx.insert(RelayAttemptRecord(outboxID: relay, ts: t0 + 41 * minute, httpStatus: 200, durationMicros: 15_000))
            let pending = try ctx.enqueueRelay(RelayOutboxItem(
                taskID: "k1", url: appURL, body: Array("{}".utf8), createdAt: t0 + 12 * minute + 1_000,
                nextAttemptAt: t0 + 61 * minute, attempts: 1, lastStatus: 503, lastError: "service unavailable"))
            try ctx.insert(RelayAttemptRecord(outboxID: pending, ts: t0 + 12 * minute + 2_000, httpStatus: 503,
                                              durationMicros: 10_000))
            try ctx.setMeta(ConsoleMetaKey.creditsRemaining, "1234.5")
        }
        await writer.close()
        return ConsoleFixture(database: database)
    }

    /// Commands on this store at `now`, offline unless `actions` is given.
    func commands(actions: (any AgentActions)? = nil) throws -> ConsoleCommands {
        ConsoleCommands(reader: try StoreReader(path: path), clock: TestClock(now), actions: actions)
    }
}

/// A stand-in for the live agent: fixed facts, and a record of what was asked of it.
final class FakeAgentActions: AgentActions {
    let syncedIDs = Mutex<[String]>([])
    let recoveryEnabled: Bool

    init(recoveryEnabled: Bool = true) {
        self.recoveryEnabled = recoveryEnabled
    }

    func statusSnapshot() -> AgentStatusSnapshot {
        AgentStatusSnapshot(
            version: "1.2.3", startedAt: t0 - 2 * 60 * minute, listen: "127.0.0.1:9464",
            publicURL: "https://hooks.example?token=zzz", upstream: "https://api.kie.ai",
            uploadUpstream: "https://kieai.redpandaai.co", adminSocket: "./kiewatch.sock", databasePath: "kiewatch.db",
            recoveryEnabled: recoveryEnabled, recoveryRatePerSecond: 5, callbackSecretConfigured: true,
            signatureCheckEnabled: false, openConnections: 3, createRateLimitUtilization: 0.35)
    }

    func sync(taskID: String) async -> SyncReport {
        syncedIDs.withLock { $0.append(taskID) }
        return SyncReport(taskID: taskID, model: "veo3", result: .recovered, state: .success, detail: "success",
                          missedCounted: true, relayQueued: true)
    }

    func syncStale(limit: Int) async -> [SyncReport] {
        syncedIDs.withLock { $0.append("stale:\(limit)") }
        return [
            SyncReport(taskID: "v1", model: "veo3", result: .stillRunning, state: .generating),
            SyncReport(taskID: "v9", result: .unknownTask),
        ]
    }

    func deadline(for model: String) -> DeadlinePolicy.Choice {
        model == "veo3" ? .init(millis: 10 * minute, reason: "config deadline.veo3")
            : .init(millis: 15 * minute, reason: "built-in default")
    }

    /// The relay actions asked of it, as the console passed them.
    let relayActions = Mutex<[String]>([])

    func replay(taskID: String) async throws -> ReplayReport {
        relayActions.withLock { $0.append("replay \(taskID)") }
        return ReplayReport(taskID: taskID, model: "veo3", result: .queued, source: .callback, outboxID: 9)
    }

    func retryRelay(id: Int64) async throws -> RelayRetryReport {
        relayActions.withLock { $0.append("retry #\(id)") }
        return RelayRetryReport(target: "relay retry #\(id)", result: .retried, retried: 1, taskID: "v2")
    }

    func retryGivenUpRelays(withinMillis: Int64?, model: String?, confirmed: Bool) async throws -> RelayRetryReport {
        relayActions.withLock {
            $0.append("retry gave_up \(withinMillis.map(String.init) ?? "-") \(model ?? "-") \(confirmed)")
        }
        return RelayRetryReport(
            target: "relay retry gave_up", result: confirmed ? .retried : .preview, givenUp: 3, retried: 2)
    }

    func pauseRelay(forMillis millis: Int64?) async throws -> RelayPauseReport {
        relayActions.withLock { $0.append("pause \(millis.map(String.init) ?? "-")") }
        return RelayPauseReport(paused: true, since: t0, until: millis.map { t0 + $0 }, pending: 1, changed: true)
    }

    func resumeRelay() async throws -> RelayPauseReport {
        relayActions.withLock { $0.append("resume") }
        return RelayPauseReport(paused: false, pending: 1, changed: true)
    }

    func relayCircuits() -> [RelayCircuitSnapshot] {
        [RelayCircuitSnapshot(destination: "https://app.example:443", isOpen: true, consecutiveFailures: 5,
                              openedAt: t0, nextProbeAt: t0 + 30_000, held: 1, lastError: "HTTP 503")]
    }
}

/// Parses a JSON answer (tests compare values, not text, except where the text is the point).
func json(_ answer: ConsoleAnswer) throws -> JSONValue {
    try JSONValue.parse(answer.output)
}

let jsonOptions = AdminProtocol.SessionOptions(format: .json)
let wideTable = AdminProtocol.SessionOptions(width: 200)
