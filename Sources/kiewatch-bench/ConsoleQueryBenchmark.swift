import Foundation
import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import KieWatchSimulator
import KieWatchStore

/// Console queries on a big store (design targets: `task ID` ≤ 5 ms, `models 24h` ≤ 200 ms,
/// `stale` ≤ 50 ms, `errors 24h` ≤ 200 ms on 10 million rows).
///
/// The store is generated once per row count under the temp dir and reused (it takes a few
/// minutes): a day of traffic for `rows / 10` tasks across 8 models, each with its create
/// call and 7 status polls, ~92 % with a callback (some duplicated or refused), a few missed
/// and recovered, a few still running or stale, and 2 % of creates failing with Kie's codes.
/// Rows go in through raw prepared INSERTs in large transactions, and the rollups through the
/// store's own `RollupAccumulator`, so they are exactly what the writer would have kept.
/// Each command then runs on the real `ConsoleCommands` (offline, as `--db` does); the median
/// of several runs is reported.
func runConsoleQueryBenchmark(rows: Int) throws {
    let path = try ConsoleBenchStore.path(rows: rows)
    let generated = try ConsoleBenchStore.prepare(path: path, rows: rows)
    let reader = try StoreReader(path: path)
    let counts = try ["api_calls", "webhooks", "tasks"].map { "\($0) \(try reader.count(of: $0))" }
    print("console queries: \(path) (\(generated ? "generated" : "reused"), \(counts.joined(separator: ", ")), "
          + "\(reader.databaseBytes / 1_048_576) MiB)")
    let commands = ConsoleCommands(reader: reader, clock: TestClock(ConsoleBenchStore.end), actions: nil)
    // Existing tasks picked at random across the key space (2 % of generated creates failed).
    var rng = SeededRandom(seed: 7)
    var ids: [String] = []
    for _ in 0..<25 {
        let probe = ConsoleBenchStore.taskID(Int(rng.next() % UInt64(max(rows / 10, 1))))
        if let id = try reader.db.rows("SELECT task_id FROM tasks WHERE task_id >= ?1 LIMIT 1", [.text(probe)])
            .first?.first?.string { ids.append(id) }
    }
    let targets: [(String, Double, () -> String)] = [
        ("task ID", 5, { "task " + ids.removeFirst() }),
        ("models 24h", 200, { "models 24h" }),
        ("stale", 50, { "stale" }),
        ("errors 24h", 200, { "errors 24h" }),
    ]
    let others = ["status", "tasks", "missed 24h", "relay", "credits 24h", "calls code=429", "webhooks"]
    for (name, target, line) in targets + others.map({ command in (command, Double.nan, { command }) }) {
        var timings: [Double] = []
        for _ in 0..<(name == "task ID" ? 25 : 7) {
            let command = line()
            let started = monotonicNanos()
            guard let answer = commands.answerWithoutWaiting(command), answer.status == .ok else {
                throw StoreError(kind: .sqlite, message: "console bench: `\(command)` failed")
            }
            timings.append(Double(monotonicNanos() - started) / 1e6)
        }
        timings.sort()
        let median = timings[timings.count / 2]
        let verdict = target.isNaN ? "(no target)" : String(format: "target <= %4.0f ms  %@", target,
                                                                       (median <= target ? "ok" : "MISSED") as NSString)
        print(String(format: "  %-14@ median %8.2f ms  (min %7.2f, max %7.2f)  %@",
                     name as NSString, median, timings.first!, timings.last!, verdict as NSString))
    }
}

/// The generated store: where it lives, and how it is built.
private enum ConsoleBenchStore {
    static let start: EpochMillis = 1_767_225_600_000
    static let end: EpochMillis = start + 86_400_000
    static let models = [
        "kling-2.6/text-to-video", "sora-2-text-to-video", "sora-2-pro-image-to-video", "grok-imagine/text-to-video",
        "wan/2-6-text-to-video", "hailuo/02-text-to-video-pro", "veo3", "veo3_fast",
    ]
    static let completeKey = "bench_console_rows"

    static func path(rows: Int) throws -> String {
        let directory = NSTemporaryDirectory() + "kiewatch-bench-console-\(rows)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/console.db"
    }

    /// Task ids spread over the key space like Kie's (hex), so the primary key is not ordered by time.
    static func taskID(_ index: Int) -> String {
        var mixer = SeededRandom(seed: UInt64(index) &* 0x9E37_79B9 &+ 1)
        let hex = String(mixer.next(), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + String(index, radix: 36)
    }

    /// Builds the store unless a complete one for `rows` is already there; returns whether it built.
    static func prepare(path: String, rows: Int) throws -> Bool {
        if FileManager.default.fileExists(atPath: path),
           let reader = try? StoreReader(path: path), (try? reader.meta(completeKey)) == String(rows) {
            return false
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let started = monotonicNanos()
        let db = try Database(path: path, mode: .readWrite)
        try Schema.migrate(db, now: start)
        try db.execute("PRAGMA synchronous = OFF")
        try db.execute("PRAGMA cache_size = -262144")
        // Each task brings about 9.85 rows (create call, status polls, callbacks): 2 % more
        // tasks than rows / 10 so the store holds at least `rows` rows.
        let taskCount = rows / 10 * 102 / 100
        let chunk = 20_000
        var rng = SeededRandom(seed: 42)
        var generator = Generator(db: db)
        var index = 0
        while index < taskCount {
            try db.execute("BEGIN")
            for i in index..<min(index + chunk, taskCount) {
                try generator.task(i, of: taskCount, rng: &rng)
            }
            try generator.rollups.write(to: db)
            try db.execute("COMMIT")
            index += chunk
            if index % 200_000 == 0 {
                print("  generating: \(index) of \(taskCount) tasks, "
                      + String(format: "%.0f s", Double(monotonicNanos() - started) / 1e9))
            }
        }
        try db.execute("BEGIN")
        for m in 0..<1_440 {  // one credit check a minute
            try generator.call(ts: start + EpochMillis(m) * 60_000 + 30_000, endpoint: .credit, model: nil, taskID: nil,
                               code: 200, latency: 120_000)
        }
        try generator.rollups.write(to: db)
        try db.execute(
            "INSERT INTO meta(key, value, updated_at) VALUES ('credits_remaining', '98765.5', ?1)", [.integer(end)])
        try db.execute("INSERT INTO meta(key, value, updated_at) VALUES (?1, ?2, ?3)",
                       [.text(completeKey), .text(String(rows)), .integer(end)])
        try db.execute("COMMIT")
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try db.execute("ANALYZE")
        print(String(format: "  generated in %.0f s", Double(monotonicNanos() - started) / 1e9))
        return true
    }

    /// Writes one task's rows; keeps the rollups the writer would keep.
    private struct Generator {
        let db: Database
        var rollups = RollupAccumulator()

        static let insertCall = """
            INSERT INTO api_calls(ts, endpoint, model, task_id, method, path, http_status, body_code, latency_us,
                                  request_bytes, response_bytes, outcome, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, 200, ?7, ?8, 0, 300, ?9, NULL)
            """
        static let insertWebhook = """
            INSERT INTO webhooks(ts, family, task_id, model, state, auth, result, delay_ms, body)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, x'7b7d')
            """
        static let insertTask = """
            INSERT INTO tasks(task_id, family, model, state, created_at, updated_at, completed_at, finished_at,
                              callback_url, expects_callback, deadline_at, last_callback_at, callbacks_received,
                              recovered_at, recovery_attempts, next_poll_at, result_source, missed, credits_consumed)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'https://app.example/kie?secret=s3cr3t', 1, ?9, ?10, ?11, ?12,
                    ?13, ?14, ?15, ?16, ?17)
            """

        mutating func call(ts: EpochMillis, endpoint: KieEndpoint, model: String?, taskID: String?, code: Int,
                           latency: Int64) throws {
            let outcome: CallOutcome = code == 200 ? .ok : .apiError
            let record = APICallRecord(
                ts: ts, endpoint: endpoint, model: model, taskID: taskID, method: endpoint.createsTask ? "POST" : "GET",
                path: "", httpStatus: 200, bodyCode: code, latencyMicros: latency, outcome: outcome)
            let s = try db.cachedStatement(Self.insertCall)
            try s.bind(ts, at: 1)
            try s.bind(endpoint.rawValue, at: 2)
            try s.bind(model, at: 3)
            try s.bind(taskID, at: 4)
            try s.bind(record.method, at: 5)
            try s.bind(endpoint.family?.status.path ?? "/api/v1/chat/credit", at: 6)
            try s.bind(code, at: 7)
            try s.bind(latency, at: 8)
            try s.bind(outcome.rawValue, at: 9)
            try s.step()
            rollups.add(record)
        }

        mutating func task(_ i: Int, of total: Int, rng: inout SeededRandom) throws {
            let model = ConsoleBenchStore.models[i % ConsoleBenchStore.models.count]
            let veo = model.hasPrefix("veo")
            let family: TaskFamily = veo ? .veo : .market
            let created = ConsoleBenchStore.start + EpochMillis(i) * 86_400_000 / EpochMillis(total)
            let id = ConsoleBenchStore.taskID(i)
            let roll = rng.next() % 1_000
            // 2 % of creates fail with one of Kie's codes; the task then never exists.
            if roll < 20 {
                try call(ts: created, endpoint: veo ? .veoGenerate : .createTask, model: model, taskID: nil,
                         code: [429, 422, 500, 402, 455][Int(roll % 5)], latency: 80_000 + Int64(rng.next() % 200_000))
                return
            }
            try call(ts: created, endpoint: veo ? .veoGenerate : .createTask, model: model, taskID: id, code: 200,
                     latency: 300_000 + Int64(rng.next() % 1_500_000))
            let duration = EpochMillis(30_000 + rng.next() % 150_000) * (veo ? 2 : 1)
            for poll in 1...7 {
                try call(ts: created + duration * EpochMillis(poll) / 8, endpoint: veo ? .veoRecordInfo : .recordInfo,
                         model: model, taskID: id, code: 200, latency: 60_000 + Int64(rng.next() % 300_000))
            }
            rollups.taskCreated(model: model, at: created)
            let deadline = created + 15 * 60_000
            let completed = created + duration
            // 0.2 % still open: in flight if recent, stale (past the deadline) otherwise.
            let open = roll >= 20 && roll < 22 || completed > ConsoleBenchStore.end
            let success = roll % 25 != 0
            let state: TaskState = open ? .generating : (success ? .success : .fail)
            // 1 % of callbacks never come; half of those recovered by polling (missed webhooks).
            let callbackLost = !open && roll >= 22 && roll < 32
            let recovered = callbackLost && roll < 27
            var finished: EpochMillis?
            var lastCallback: EpochMillis?
            if !open && !callbackLost {
                let delay = EpochMillis(500 + rng.next() % 4_500)
                lastCallback = completed + delay
                finished = lastCallback
                try webhook(ts: completed + delay, family: family, id: id, model: model, state: state, auth: "ok",
                            result: .accepted, delay: delay)
                if roll % 50 == 1 {
                    try webhook(ts: completed + delay + 3_000, family: family, id: id, model: model, state: state,
                                auth: "ok", result: .duplicate, delay: delay + 3_000)
                }
                if roll % 200 == 7 {
                    try webhook(ts: completed + delay + 1_000, family: family, id: id, model: model, state: state,
                                auth: "bad_secret", result: .unauthorized, delay: nil)
                }
            } else if recovered {
                finished = deadline + 5_000
                try db.execute("INSERT INTO recoveries(ts, task_id, model, result, detail) VALUES (?1, ?2, ?3, 'recovered', ?4)",
                               [.integer(deadline + 5_000), .text(id), .text(model), .text(state.rawValue)])
                rollups.taskMissed(model: model, at: deadline + 5_000)
            }
            if let finished {
                rollups.taskFinished(model: model, success: success, at: finished, durationMicros: duration * 1_000,
                                     credits: Double(10 + i % 5))
            }
            let s = try db.cachedStatement(Self.insertTask)
            try s.bind(id, at: 1)
            try s.bind(family.rawValue, at: 2)
            try s.bind(model, at: 3)
            try s.bind((finished == nil ? TaskState.generating : state).rawValue, at: 4)
            try s.bind(created, at: 5)
            try s.bind(finished ?? created, at: 6)
            try s.bind(finished == nil ? nil : completed, at: 7)
            try s.bind(finished, at: 8)
            try s.bind(deadline, at: 9)
            try s.bind(lastCallback, at: 10)
            try s.bind(lastCallback == nil ? 0 : 1, at: 11)
            try s.bind(recovered ? finished : nil, at: 12)
            try s.bind(finished == nil ? 3 : (recovered ? 1 : 0), at: 13)
            try s.bind(finished == nil ? deadline + 60_000 : nil, at: 14)
            try s.bind(finished == nil ? nil : (recovered ? "recovery" : "callback"), at: 15)
            try s.bind(recovered, at: 16)
            try s.bind(finished == nil ? nil : Double(10 + i % 5), at: 17)
            try s.step()
        }

        mutating func webhook(ts: EpochMillis, family: TaskFamily, id: String, model: String, state: TaskState,
                              auth: String, result: WebhookResult, delay: Int64?) throws {
            let s = try db.cachedStatement(Self.insertWebhook)
            try s.bind(ts, at: 1)
            try s.bind(family.rawValue, at: 2)
            try s.bind(id, at: 3)
            try s.bind(model, at: 4)
            try s.bind(state.rawValue, at: 5)
            try s.bind(auth, at: 6)
            try s.bind(result.rawValue, at: 7)
            try s.bind(delay, at: 8)
            try s.step()
            rollups.add(WebhookRecord(ts: ts, family: family, taskID: id, model: model, state: state,
                                      auth: WebhookAuth(rawValue: auth) ?? .ok, result: result, delayMillis: delay,
                                      body: []))
        }
    }
}

