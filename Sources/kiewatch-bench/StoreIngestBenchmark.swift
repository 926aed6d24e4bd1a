import CSQLite
import Dispatch
import Foundation
import KieWatchCore
import KieWatchSimulator
import KieWatchStore

/// Store ingest: `StoreWriter` fire-and-forget from several producer threads versus a raw
/// SQLite baseline inserting the same rows (design target: writer ≥ 50 % of raw).
///
/// Same work on both sides: the same schema, indexes and pragmas (WAL, synchronous NORMAL,
/// foreign keys), the same batch size (one transaction per `maxBatchItems` rows), and the same
/// per-minute rollup upserts (`call_rollup`, with `kw_buckets_add`) at the end of each batch.
/// The baseline is a tight loop over one prepared INSERT on one thread; the writer adds the
/// queue, the cross-thread hand-off, path redaction and its error handling.
func runStoreIngestBenchmark(rows: Int) throws {
    let records = IngestWorkload.records(count: rows)
    let batchSize = StoreConfiguration().maxBatchItems
    let rounds = 3
    print("store ingest: \(rows) api_calls rows, batches of \(batchSize), rollups maintained on both sides, "
          + "\(rounds) alternating rounds on fresh files (best of each reported)")
    var best = (raw: Measurement.worst, writer: Measurement.worst)
    for round in 1...rounds {
        let directory = try IngestWorkload.temporaryDirectory()
        defer { IngestWorkload.remove(directory) }
        let rawPath = directory + "/raw.db"
        let writerPath = directory + "/writer.db"
        let raw = try Measurement.of { try IngestWorkload.rawInsert(records, path: rawPath, batchSize: batchSize) }
        let writer = try Measurement.of { try IngestWorkload.writerInsert(records, path: writerPath, producers: 4) }
        let check = try IngestWorkload.compare(rawPath, writerPath)
        guard check.raw == Int64(rows), check.writer == Int64(rows), check.rollupsEqual else {
            throw StoreError(kind: .sqlite, message: "benchmark runs disagree: raw \(check.raw) rows, writer "
                             + "\(check.writer) rows, rollups equal \(check.rollupsEqual)")
        }
        print(String(format: "  round %d: raw %8.0f rows/s (%.1f µs CPU/row)   writer %8.0f rows/s (%.1f µs CPU/row)",
                     round, raw.rate(rows), raw.cpuMicrosPerRow(rows), writer.rate(rows), writer.cpuMicrosPerRow(rows)))
        if raw.seconds < best.raw.seconds { best.raw = raw }
        if writer.seconds < best.writer.seconds { best.writer = writer }
    }
    print(String(format: "  raw SQLite (1 thread, prepared INSERT)   %9.0f rows/s", best.raw.rate(rows)))
    print(String(format: "  StoreWriter (4 producers, group commit)  %9.0f rows/s", best.writer.rate(rows)))
    print(String(format: "  writer/raw = %.2f  (target >= 0.50); rows and rollups identical on both sides",
                 best.writer.rate(rows) / best.raw.rate(rows)))
}

/// Wall time and process CPU time (all threads) of one run.
private struct Measurement {
    var seconds: Double
    var cpuSeconds: Double

    static let worst = Measurement(seconds: .infinity, cpuSeconds: .infinity)

    static func of(_ body: () throws -> Void) throws -> Measurement {
        let cpuBefore = cpuTime()
        let started = monotonicNanos()
        try body()
        return Measurement(seconds: Double(monotonicNanos() - started) / 1e9, cpuSeconds: cpuTime() - cpuBefore)
    }

    func rate(_ rows: Int) -> Double { Double(rows) / seconds }
    func cpuMicrosPerRow(_ rows: Int) -> Double { cpuSeconds * 1e6 / Double(rows) }

    private static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

private enum IngestWorkload {
    static let models = [
        "kling-2.6/text-to-video", "sora-2-text-to-video", "sora-2-pro-image-to-video", "grok-imagine/text-to-video",
        "wan/2-6-text-to-video", "hailuo/02-text-to-video-pro", "veo3", "veo3_fast",
    ]

    /// Deterministic, realistic rows: mostly status polls, some creates, a few credit checks,
    /// a sprinkle of error codes, latencies from 20 ms to a few seconds, over one hour.
    static func records(count: Int) -> [APICallRecord] {
        var rng = SeededRandom(seed: 42)
        let start: EpochMillis = 1_767_225_600_000
        return (0..<count).map { i in
            let model = models[Int(rng.next() % UInt64(models.count))]
            let veo = model.hasPrefix("veo")
            let taskID = "task-\(rng.next() % 100_000)"
            let roll = rng.next() % 100
            let endpoint: KieEndpoint
            let path: String
            switch roll {
            case 0..<20:
                endpoint = veo ? .veoGenerate : .createTask
                path = veo ? "/api/v1/veo/generate" : "/api/v1/jobs/createTask"
            case 20..<95:
                endpoint = veo ? .veoRecordInfo : .recordInfo
                path = (veo ? "/api/v1/veo/record-info" : "/api/v1/jobs/recordInfo") + "?taskId=" + taskID
            default:
                endpoint = .credit
                path = "/api/v1/chat/credit"
            }
            let codeRoll = rng.next() % 100
            let bodyCode = codeRoll < 92 ? 200 : [422, 429, 500, 501][Int(codeRoll % 4)]
            let base: UInt64 = rng.next() % 400_000
            let spread: UInt64 = 1 + rng.next() % 8
            let latency = Int64(20_000 + base * spread)
            return APICallRecord(
                ts: start + EpochMillis(i) * 3_600_000 / EpochMillis(max(count, 1)), endpoint: endpoint,
                model: endpoint == .credit ? nil : model, taskID: endpoint == .credit ? nil : taskID,
                method: endpoint.createsTask ? "POST" : "GET", path: path, httpStatus: 200, bodyCode: bodyCode,
                latencyMicros: latency, requestBytes: endpoint.createsTask ? 512 : 0, responseBytes: 300,
                outcome: bodyCode == 200 ? .ok : .apiError)
        }
    }

    /// A fresh database with kiewatch's schema and pragmas (created through the store, closed).
    static func createSchema(at path: String) throws {
        let db = try Database(path: path, mode: .readWrite)
        try Schema.migrate(db, now: 0)
    }

    // MARK: Raw baseline

    static func rawInsert(_ records: [APICallRecord], path: String, batchSize: Int) throws {
        try createSchema(at: path)
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              let db = handle else {
            throw StoreError(kind: .sqlite, message: "raw open failed")
        }
        defer { sqlite3_close_v2(db) }
        func exec(_ sql: String) throws { try check(sqlite3_exec(db, sql, nil, nil, nil), connection: db, sql: sql) }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
        try SQLFunctions.register(on: db)
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            try check(sqlite3_prepare_v2(db, sql, -1, &statement, nil), connection: db, sql: sql)
            return statement!
        }
        let insert = try prepare("""
            INSERT INTO api_calls(ts, endpoint, model, task_id, method, path, http_status, body_code,
                                  latency_us, request_bytes, response_bytes, outcome, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            """)
        let upsert = try prepare(RollupAccumulator.callUpsertSQL)
        let begin = try prepare("BEGIN IMMEDIATE")
        let commit = try prepare("COMMIT")
        defer { [insert, upsert, begin, commit].forEach { sqlite3_finalize($0) } }

        var rollups = RollupAccumulator()
        var index = 0
        while index < records.count {
            let end = min(index + batchSize, records.count)
            try check(sqlite3_step(begin), connection: db)
            sqlite3_reset(begin)
            for record in records[index..<end] {
                sqlite3_bind_int64(insert, 1, record.ts)
                bindText(insert, 2, record.endpoint.rawValue)
                bindText(insert, 3, record.model)
                bindText(insert, 4, record.taskID)
                bindText(insert, 5, record.method)
                bindText(insert, 6, record.path)
                sqlite3_bind_int64(insert, 7, Int64(record.httpStatus))
                if let code = record.bodyCode { sqlite3_bind_int64(insert, 8, Int64(code)) } else { sqlite3_bind_null(insert, 8) }
                sqlite3_bind_int64(insert, 9, record.latencyMicros)
                sqlite3_bind_int64(insert, 10, record.requestBytes)
                sqlite3_bind_int64(insert, 11, record.responseBytes)
                bindText(insert, 12, record.outcome.rawValue)
                bindText(insert, 13, record.error)
                try check(sqlite3_step(insert), connection: db)
                sqlite3_reset(insert)
                rollups.add(record)
            }
            for (key, delta) in rollups.calls {
                sqlite3_bind_int64(upsert, 1, key.minute)
                bindText(upsert, 2, key.endpoint)
                bindText(upsert, 3, key.model)
                bindText(upsert, 4, key.code)
                sqlite3_bind_int64(upsert, 5, delta.calls)
                sqlite3_bind_int64(upsert, 6, delta.errors)
                sqlite3_bind_int64(upsert, 7, delta.latencySumMicros)
                sqlite3_bind_int64(upsert, 8, delta.latencyMaxMicros)
                let blob = LatencyBuckets.encode(delta.buckets)
                blob.withUnsafeBytes { _ = sqlite3_bind_blob(upsert, 9, $0.baseAddress, Int32($0.count), transient) }
                try check(sqlite3_step(upsert), connection: db)
                sqlite3_reset(upsert)
            }
            rollups.removeAll()
            try check(sqlite3_step(commit), connection: db)
            sqlite3_reset(commit)
            index = end
        }
    }

    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    @inline(__always)
    private static func bindText(_ statement: OpaquePointer, _ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { utf8 in
            _ = sqlite3_bind_text(statement, index, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self),
                                  Int32(utf8.count), transient)
        }
    }

    // MARK: StoreWriter

    /// Submits from `producers` threads, then waits for `flush()`; closing is included (it is
    /// cheap: everything is already committed).
    static func writerInsert(_ records: [APICallRecord], path: String, producers: Int) throws {
        let writer = try StoreWriter(path: path)
        let configuration = StoreConfiguration()
        let group = DispatchGroup()
        let chunk = (records.count + producers - 1) / producers
        for producer in 0..<producers {
            let slice = records[min(producer * chunk, records.count)..<min((producer + 1) * chunk, records.count)]
            group.enter()
            let thread = Thread {
                var submitted = 0
                for record in slice {
                    // A producer faster than the disk waits instead of overflowing the bounded
                    // queue: the benchmark measures throughput, not drops.
                    if submitted & 1023 == 0 {
                        while writer.queueDepth > configuration.maxQueuedRecords / 2 { usleep(200) }
                    }
                    writer.record(record)
                    submitted += 1
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        try blocking { try await writer.flush() }
        try blocking { await writer.close() }
        guard writer.droppedRecords == 0, writer.storeErrors == 0 else {
            throw StoreError(kind: .sqlite, message: "writer dropped \(writer.droppedRecords) rows, "
                             + "\(writer.storeErrors) store errors")
        }
    }

    /// Runs async work from this synchronous benchmark and waits for it.
    private static func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = LockedError()
        Task {
            do { try await body() } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let error = failure.get() { throw error }
    }

    // MARK: Checking both sides did the same work

    static func compare(_ rawPath: String, _ writerPath: String) throws -> (raw: Int64, writer: Int64, rollupsEqual: Bool) {
        let raw = try StoreReader(path: rawPath)
        let writer = try StoreReader(path: writerPath)
        let rawRollups = try raw.callRollups(fromMinute: 0, toMinute: Int64.max)
        let writerRollups = try writer.callRollups(fromMinute: 0, toMinute: Int64.max)
        return (try raw.count(of: "api_calls"), try writer.count(of: "api_calls"), rawRollups == writerRollups)
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/kiewatch-bench-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StoreError(kind: .fileSystem, code: errno, message: "mkdtemp failed")
        }
        return String(cString: created)
    }

    static func remove(_ directory: String) {
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            print("  warning: could not remove \(directory): \(error)")
        }
    }
}

/// An error slot shared between the benchmark thread and a Task.
///
/// `@unchecked Sendable` is safe: the only stored state is read and written under `lock`.
private final class LockedError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ value: any Error) { lock.withLock { error = value } }
    func get() -> (any Error)? { lock.withLock { error } }
}

