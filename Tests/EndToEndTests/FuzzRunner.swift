import Foundation
import KieWatchCore
import KieWatchTestSupport

/// A case the agent did not handle as it must, with everything needed to reproduce it.
struct FuzzFailure: Sendable, CustomStringConvertible {
    var index: Int
    var label: String
    var problem: String
    var bytes: [UInt8]
    var seed: UInt64

    /// The label up to its value (`json.number.completeTime`): failures are counted per class.
    var labelClass: String { String(label.split(separator: "=", maxSplits: 1).first ?? "") }

    var description: String {
        "case #\(index) [\(label)]: \(problem)\n    reproduce: KIEWATCH_FUZZ_SEED=\(seed), case #\(index); request bytes: "
            + FuzzInputs.describe(bytes)
    }
}

/// What one worker saw.
struct FuzzWorkerReport: Sendable {
    var sent = 0
    var statuses: [Int: Int] = [:]
    /// Closes and resets without an answer, on connections where that was allowed.
    var silentCloses = 0
    var failureCount = 0
    var failuresByClass: [String: Int] = [:]
    /// The first failures in full (at most `keptFailures`).
    var failures: [FuzzFailure] = []
    /// Task ids of the webhook deliveries answered 200, one entry per 200.
    var acknowledged: [String] = []
    /// Why the worker stopped before its last case, if it did.
    var stopped: String?
    /// The cases in flight when the agent stopped answering (one of them may have killed it).
    var suspects: [Int] = []

    static let keptFailures = 25
}

/// Sends the corpus through the agent from threads of their own (blocking sockets, never the
/// concurrency pool): well-framed cases pipelined in batches on kept-open connections, the
/// others alone on fresh connections that are half-closed after sending.
final class FuzzRunner: Sendable {
    let corpus: FuzzCorpus
    let port: Int
    let workers: Int
    let batchSize: Int
    let deadline: ContinuousClock.Instant
    let readTimeout: Duration

    init(corpus: FuzzCorpus, port: Int, workers: Int, batchSize: Int, deadline: ContinuousClock.Instant, readTimeout: Duration) {
        self.corpus = corpus
        self.port = port
        self.workers = workers
        self.batchSize = batchSize
        self.deadline = deadline
        self.readTimeout = readTimeout
    }

    /// Runs every case; worker `w` takes the indices `w, w + workers, ...` in order.
    func run() async throws -> [FuzzWorkerReport] {
        try await withThrowingTaskGroup(of: FuzzWorkerReport.self) { group in
            for worker in 0..<workers {
                group.addTask { try await ToolRunner.offPool { self.runWorker(worker) } }
            }
            var reports: [FuzzWorkerReport] = []
            for try await report in group { reports.append(report) }
            return reports
        }
    }

    static func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }

    private func runWorker(_ worker: Int) -> FuzzWorkerReport {
        var state = WorkerState(runner: self)
        var batch: [FuzzCase] = []
        var batchBytes = 0
        var index = worker
        while index < corpus.plan.categories.count && state.report.stopped == nil {
            if ContinuousClock.now > deadline {
                state.report.stopped = "the run's deadline passed at case #\(index)"
                break
            }
            let made = corpus.makeCase(index, now: Self.unixNow())
            index += workers
            if made.expectation.isAlone {
                state.send(batch)
                batch = []
                batchBytes = 0
                if state.report.stopped == nil { state.sendAlone(made) }
            } else {
                batch.append(made)
                batchBytes += made.bytes.count
                if batch.count >= batchSize || batchBytes >= 256 * 1024 {
                    state.send(batch)
                    batch = []
                    batchBytes = 0
                }
            }
        }
        if state.report.stopped == nil { state.send(batch) }
        return state.report
    }

    /// Replays `cases` one at a time, each alone, until the agent stops answering: returns the
    /// case after which it did (nil when it survived them all).
    func isolateCrash(_ cases: [FuzzCase]) -> FuzzCase? {
        for candidate in cases {
            if let connection = FuzzConnection(port: port, timeout: readTimeout) {
                _ = connection.send(candidate.bytes)
                connection.finishSending()
                _ = connection.readUntilClosed()
            }
            if !agentAnswers() { return candidate }
        }
        return nil
    }

    /// Whether `GET /healthz` gets 200, retried briefly (a trap takes a moment to end the process).
    func agentAnswers() -> Bool {
        for attempt in 0..<3 {
            if attempt > 0 { usleep(100_000) }
            guard let connection = FuzzConnection(port: port, timeout: readTimeout) else { return false }
            guard connection.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) else { continue }
            if case .response(200, _, _) = connection.readResponse() { return true }
        }
        return false
    }

    /// Per-worker sending and judging; the report it fills is the worker's result.
    private struct WorkerState {
        let runner: FuzzRunner
        var report = FuzzWorkerReport()
        var connection: FuzzConnection?
        /// The cases of the last send: when the agent is found dead, one of them (or of another
        /// worker's) may have killed it, though its own answer looked fine (a close, say).
        var lastSent: [Int] = []

        init(runner: FuzzRunner) { self.runner = runner }

        /// A connection, or nil (and the worker stopped, its suspects noted) when the agent is gone.
        mutating func connect(for cases: some Collection<FuzzCase>) -> FuzzConnection? {
            if let connection = FuzzConnection(port: runner.port, timeout: runner.readTimeout) { return connection }
            agentGone("the agent refused connections", cases.map(\.index))
            return nil
        }

        mutating func agentGone(_ what: String, _ inFlight: [Int]) {
            report.stopped = report.stopped ?? "\(what) (cases in flight: \(inFlight.prefix(5))...)"
            report.suspects += lastSent + inFlight
        }

        /// Sends `batch` pipelined and reads its answers; what a close leaves unanswered is sent
        /// again on a new connection (and the close itself judged).
        mutating func send(_ batch: [FuzzCase]) {
            var pending = batch[...]
            while !pending.isEmpty {
                if connection == nil { connection = connect(for: pending) }
                guard let connection else { return }
                _ = connection.send(pending.flatMap(\.bytes))
                var answered: [Int] = []
                var reusable = true
                for item in pending {
                    let read = connection.readResponse(head: item.isHead)
                    answered.append(item.index)
                    judge(item, [read])
                    guard case .response(_, let closes, _) = read, !closes else {
                        reusable = false
                        if case .timeout = read { report.stopped = "no answer within \(runner.readTimeout) to case #\(item.index)" }
                        break
                    }
                }
                report.sent += answered.count
                if !reusable {
                    self.connection = nil
                    if !runner.agentAnswers() { return agentGone("the agent stopped answering", answered) }
                }
                lastSent = answered
                if report.stopped != nil { return }
                pending = pending.dropFirst(answered.count)
            }
        }

        mutating func sendAlone(_ item: FuzzCase) {
            guard let connection = connect(for: [item]) else { return }
            _ = connection.send(item.bytes)
            connection.finishSending()
            report.sent += 1
            let reads = connection.readUntilClosed(head: item.isHead)
            judge(item, reads)
            lastSent = [item.index]
            if reads.contains(.timeout) {
                report.stopped = "no answer or close within \(runner.readTimeout) to case #\(item.index)"
            }
        }

        mutating func judge(_ item: FuzzCase, _ reads: [FuzzConnection.Read]) {
            var statuses: [Int] = []
            for read in reads {
                switch read {
                case .response(let status, _, _):
                    statuses.append(status)
                    report.statuses[status, default: 0] += 1
                case .closed: if statuses.isEmpty { report.silentCloses += 1 }
                default: break
                }
            }
            if let first = statuses.first, first == 200, let id = item.taskID { report.acknowledged.append(id) }
            if let problem = Self.problem(item.expectation, reads, statuses) {
                report.failureCount += 1
                let failure = FuzzFailure(
                    index: item.index, label: item.label, problem: problem, bytes: item.bytes, seed: runner.corpus.settings.seed)
                report.failuresByClass[failure.labelClass, default: 0] += 1
                if report.failures.count < FuzzWorkerReport.keptFailures { report.failures.append(failure) }
            }
        }

        /// What is wrong with the answers to a case, or nil.
        static func problem(_ expectation: FuzzExpectation, _ reads: [FuzzConnection.Read], _ statuses: [Int]) -> String? {
            for read in reads {
                switch read {
                case .timeout: return "no answer within the read timeout (expected \(expectation)); reads: \(reads.map(describe))"
                case .garbage(let text): return "not an HTTP response: \(text)"
                default: break
                }
            }
            switch expectation {
            case .answer(let expected):
                guard reads.count == 1, case .response(let status, let closes, let body) = reads[0] else {
                    return "no answer: the connection closed (expected \(expectation))"
                }
                if !expected.contains(status) {
                    return "answered \(status) \(String(decoding: body.prefix(200), as: UTF8.self)) (expected \(expectation))"
                }
                if closes { return "answered \(status), then closed a connection that should have stayed open" }
                return nil
            case .alone(let first):
                if let first {
                    guard let status = statuses.first else { return "no answer before the close (expected \(expectation))" }
                    if !first.contains(status) { return "answered \(status) (expected \(expectation)); all: \(statuses)" }
                } else if let status = statuses.first, status < 400 {
                    return "answered \(status) to a request that must be refused; all: \(statuses)"
                }
                if let later = statuses.dropFirst().first(where: { $0 < 400 }) {
                    return "answered \(later) to bytes after the request (expected a refusal or the close); all: \(statuses)"
                }
                return nil
            }
        }

        static func describe(_ read: FuzzConnection.Read) -> String {
            switch read {
            case .response(let status, let closes, _): "\(status)\(closes ? " (close)" : "")"
            case .closed: "closed"
            case .timeout: "timeout"
            case .garbage: "garbage"
            }
        }
    }
}

/// Creates tasks through the agent's proxy, pipelined on a few connections.
enum FuzzTaskCreator {
    static func create(
        families: [TaskFamily], port: Int, apiKey: String, callbackURL: String, connections: Int = 4
    ) async throws -> [FuzzKnownTask] {
        try await withThrowingTaskGroup(of: [(Int, FuzzKnownTask)].self) { group in
            for lane in 0..<connections {
                group.addTask {
                    try await ToolRunner.offPool {
                        try createLane(lane, of: connections, families: families, port: port, apiKey: apiKey, callbackURL: callbackURL)
                    }
                }
            }
            var created = [FuzzKnownTask?](repeating: nil, count: families.count)
            for try await lane in group { for (index, task) in lane { created[index] = task } }
            return created.compactMap { $0 }
        }
    }

    private static func createLane(
        _ lane: Int, of lanes: Int, families: [TaskFamily], port: Int, apiKey: String, callbackURL: String
    ) throws -> [(Int, FuzzKnownTask)] {
        var out: [(Int, FuzzKnownTask)] = []
        let indices = Array(stride(from: lane, to: families.count, by: lanes))
        for batch in stride(from: 0, to: indices.count, by: 32) {
            guard let connection = FuzzConnection(port: port, timeout: .seconds(20)) else {
                throw LiveError("create tasks: cannot connect to the agent on port \(port)")
            }
            let slice = indices[batch..<min(indices.count, batch + 32)]
            var bytes: [UInt8] = []
            for index in slice {
                let family = families[index]
                let callback = index % 2 == 0 ? ",\"callBackUrl\":\"\(callbackURL)\"" : ""
                let body =
                    family == .veo
                    ? "{\"model\":\"veo3_fast\",\"prompt\":\"fuzz \(index)\"\(callback)}"
                    : "{\"model\":\"\(FuzzCorpus.marketModels[index % FuzzCorpus.marketModels.count])\",\"input\":{\"prompt\":\"fuzz \(index)\"}\(callback)}"
                bytes += CaseGenerator.request(
                    target: family == .veo ? "/api/v1/veo/generate" : "/api/v1/jobs/createTask",
                    headers: [("Authorization", Array("Bearer \(apiKey)".utf8)), ("Content-Type", Array("application/json".utf8))],
                    body: Array(body.utf8))
            }
            guard connection.send(bytes) else { throw LiveError("create tasks: the agent closed the connection") }
            for index in slice {
                let read = connection.readResponse()
                guard case .response(200, _, let body) = read, let envelope = KieEnvelope(body: body),
                    let id = KieWire.createdTaskId(envelope)
                else {
                    throw LiveError("create task \(index) through the proxy: \(read)")
                }
                out.append((index, FuzzKnownTask(id: id, family: families[index])))
            }
        }
        return out
    }
}
