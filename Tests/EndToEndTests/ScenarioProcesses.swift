import Foundation
import KieWatchCore
import KieWatchHTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// The pieces of the end-to-end scenario (ScenarioTests.swift): the built `kiewatch` binary run
// as child processes (simulator, agent, console), the test app that receives relayed callbacks,
// the app's task creator, and readers for what the processes answer (Prometheus text, console JSON).

/// Why the scenario could not go on, in one line with what to do.
struct ScenarioError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Milliseconds since the epoch, the clock the simulator and the agent stamp their records with.
func scenarioNow() -> EpochMillis { SystemClock().now() }

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
/// Each scenario phase waits for a condition, never for a fixed time.
func scenarioWait(
    timeout: Duration, interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

// MARK: - The binary and its processes

/// A scratch directory for the database, sockets, config and logs; removed by `remove()`.
struct ScenarioDirectory {
    let url: URL

    init() throws {
        // Short, so the admin socket path stays far below the 108-byte sun_path limit.
        let name = "kw-e2e-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        url = URL(fileURLWithPath: "/tmp", isDirectory: true).appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// One child process of the scenario, its stderr (logfmt) going to a file.
///
/// Not Sendable: `Foundation.Process` is not, and the scenario drives its processes from one task.
final class ScenarioProcess {
    let name: String
    let logPath: String
    private let process: Process

    /// Starts `kiewatch ARGUMENTS` with exactly `environment` (nothing inherited, so a developer's
    /// KIE_* variables cannot leak in) and stdout discarded.
    init(name: String, executable: URL, arguments: [String], environment: [String: String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw ScenarioError("cannot create \(logPath)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }
    /// The exit status once it has exited (a signal's number when killed by one).
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    var isRunning: Bool { process.isRunning }
    /// Everything the process wrote to stderr so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits for the `event` log line (e.g. `agent.started`) and returns the port of its `listen=`.
    func waitForListening(event: String, timeout: Duration = .seconds(15)) async throws -> Int {
        var port: Int?
        let started = await scenarioWait(timeout: timeout, interval: .milliseconds(20)) {
            port = Self.listenPort(in: log, event: event)
            return port != nil || !isRunning
        }
        guard started, let port else {
            throw ScenarioError(
                "\(name) did not log \(event) with listen= within \(timeout) (running: \(isRunning)); its log:\n\(log)")
        }
        return port
    }

    static func listenPort(in log: String, event: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("event=\(event) ") {
            for field in line.split(separator: " ") where field.hasPrefix("listen=") {
                if let colon = field.lastIndex(of: ":"), let port = Int(field[field.index(after: colon)...]) { return port }
            }
        }
        return nil
    }

    /// kill -9: no shutdown path runs, exactly like a crash or the OOM killer.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`. Safe to call twice.
    func stop(grace: Duration = .seconds(5)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill9() } else { process.waitUntilExit() }
    }
}

/// A short-lived `kiewatch` invocation (the console), stdout and stderr kept apart.
struct ScenarioCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var commandLine: String
    }

    /// Runs to completion; the wait happens on Foundation's thread, not on a cooperative one.
    static func run(_ executable: URL, _ arguments: [String], scratch: ScenarioDirectory) async throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "NO_COLOR": "1"]
        // Files, not pipes: nothing to drain while waiting, whatever the output size.
        let out = scratch.path("console.out")
        let err = scratch.path("console.err")
        for path in [out, err] where !FileManager.default.createFile(atPath: path, contents: nil) {
            throw ScenarioError("cannot create \(path)")
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Result(
            status: status,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
            commandLine: (["kiewatch"] + arguments).joined(separator: " "))
    }
}

// MARK: - The app

/// The application behind the agent: an HTTP server on an ephemeral loopback port receiving the
/// relayed callbacks at `/callbacks/kie|veo?secret=APP_SECRET`, recording every delivery.
///
/// For the kill -9 it can *hold* deliveries: while held, a delivery is recorded as not
/// acknowledged, kept waiting without an answer, and answered 503 once released. That is how the
/// scenario makes sure no delivery is between the app's 200 and the agent's commit when the
/// agent dies (see ScenarioTests).
final class ScenarioApp: Sendable {
    struct Delivery: Sendable {
        var taskID: String
        var family: TaskFamily
        /// `X-KieWatch-Recovered: true`: a callback kiewatch synthesized after a recovery poll.
        var recovered: Bool
        /// success or fail, as the body says.
        var state: TaskState?
        var at: EpochMillis
        /// Answered 200. False for deliveries that arrived while held (answered 503).
        var acknowledged: Bool
    }

    struct Log: Sendable {
        var deliveries: [Delivery] = []
        var unauthorized = 0
        var malformed = 0
        var holding = false
    }

    /// The log, shared with the server's handler.
    final class Recorder: Sendable {
        let log = Mutex(Log())
        func withLock<T: Sendable>(_ body: (inout Log) -> T) -> T { log.withLock { body(&$0) } }
    }

    let secret: String
    let server: HTTPServer
    private let log = Recorder()
    private let portBox = Mutex(0)

    init(secret: String) {
        self.secret = secret
        server = HTTPServer(handler: ClosureHandler { [log] request in await Self.handle(request, secret: secret, log: log) })
    }

    func start() async throws -> Int {
        let port = try await server.start(host: "127.0.0.1", port: 0)
        portBox.withLock { $0 = port }
        return port
    }

    func stop() async { await server.shutdown(gracePeriod: .seconds(2)) }

    /// The callBackUrl the app gives Kie (through the agent) for a family.
    func callbackURL(for family: TaskFamily) -> String {
        "http://127.0.0.1:\(portBox.withLock { $0 })/callbacks/\(family.rawValue)?secret=\(secret)"
    }

    var snapshot: Log { log.withLock { $0 } }

    /// From now on deliveries are held; returns how many had been acknowledged until then.
    func hold() -> Int {
        log.withLock { log in
            log.holding = true
            return log.deliveries.filter(\.acknowledged).count
        }
    }

    func release() { log.withLock { $0.holding = false } }

    private static func handle(_ request: HTTPRequest, secret: String, log: Recorder) async -> HTTPResponse {
        let family: TaskFamily
        switch (request.method, request.path) {
        case ("POST", "/callbacks/market"): family = .market
        case ("POST", "/callbacks/veo"): family = .veo
        default: return .text("not found", status: 404)
        }
        guard request.queryItem("secret") == secret else {
            log.withLock { $0.unauthorized += 1 }
            return .text("bad secret", status: 401)
        }
        guard let body = try? JSONValue.parse(request.body), let taskID = body["data"]?["taskId"]?.nonEmptyString else {
            log.withLock { $0.malformed += 1 }
            return .text("malformed", status: 400)
        }
        let state: TaskState? =
            switch family {
            case .market: body["data"]?["state"]?.stringValue.flatMap(TaskState.init(rawValue:))
            default: body["code"]?.intValue == 200 ? .success : .fail
            }
        let recovered = request.headers["X-KieWatch-Recovered"] == "true"
        let held = log.withLock { log in
            log.deliveries.append(
                Delivery(
                    taskID: taskID, family: family, recovered: recovered, state: state, at: scenarioNow(),
                    acknowledged: !log.holding))
            return log.holding
        }
        if held {
            while log.withLock({ $0.holding }) { try? await Task.sleep(for: .milliseconds(5)) }
            return .text("held during the kill", status: 503)
        }
        return .json(["code": 200, "msg": "ok"])
    }
}

// MARK: - The app's task creator

/// One task the app asks for: its model, and which of the app's API keys it uses.
struct ScenarioTaskPlan: Sendable {
    var index: Int
    var model: String
    var family: TaskFamily
    var keyIndex: Int
}

/// Creates the planned tasks through the agent one after another, at most one every `interval`
/// (all keys together), the way an app with a queue would: a refused connection (agent down) or
/// a 429 is retried after a pause; any other failure leaves the task's fate unknown and is
/// counted as ambiguous (then retried as a new task).
///
/// `pause()` lets the scenario take a moment with no create in flight.
final class ScenarioCreator: Sendable {
    struct Created: Sendable {
        var taskID: String
        var model: String
        var family: TaskFamily
        var at: EpochMillis
    }

    struct Progress: Sendable {
        var created: [Created] = []
        /// Attempts that could not connect (the agent was down); never reached Kie.
        var refused = 0
        var rateLimited = 0
        /// Failures after which the task may or may not exist at Kie, with what happened.
        var ambiguous: [String] = []
        var pauseRequested = false
        var paused = false
        var finished = false
    }

    let agentBaseURL: String
    let keys: [String]
    let interval: Duration
    let app: ScenarioApp
    private let client = HTTPClient()
    private let progress = Mutex(Progress())

    init(agentBaseURL: String, keys: [String], interval: Duration, app: ScenarioApp) {
        self.agentBaseURL = agentBaseURL
        self.keys = keys
        self.interval = interval
        self.app = app
    }

    var snapshot: Progress { progress.withLock { $0 } }

    func pause() async -> Bool {
        progress.withLock { $0.pauseRequested = true }
        return await scenarioWait(timeout: .seconds(10), interval: .milliseconds(2)) {
            progress.withLock { $0.paused || $0.finished }
        }
    }

    func resume() { progress.withLock { $0.pauseRequested = false } }

    func shutdown() { client.shutdown() }

    func run(_ plans: [ScenarioTaskPlan]) async {
        let clock = ContinuousClock()
        var nextStart = clock.now
        for plan in plans {
            while !Task.isCancelled {
                await honourPause()
                if clock.now < nextStart { try? await Task.sleep(until: nextStart) }
                await honourPause()
                nextStart = clock.now + interval
                switch await create(plan) {
                case .created(let created):
                    progress.withLock { $0.created.append(created) }
                case .refused:
                    progress.withLock { $0.refused += 1 }
                    continue
                case .rateLimited:
                    progress.withLock { $0.rateLimited += 1 }
                    try? await Task.sleep(for: .seconds(1))
                    continue
                case .ambiguous(let what):
                    progress.withLock { $0.ambiguous.append("task \(plan.index) (\(plan.model)): \(what)") }
                    continue
                }
                break
            }
        }
        progress.withLock { $0.finished = true }
    }

    private func honourPause() async {
        guard progress.withLock({ $0.pauseRequested }) else { return }
        progress.withLock { $0.paused = true }
        while progress.withLock({ $0.pauseRequested }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(2))
        }
        progress.withLock { $0.paused = false }
    }

    enum Outcome {
        case created(Created)
        case refused
        case rateLimited
        case ambiguous(String)
    }

    private func create(_ plan: ScenarioTaskPlan) async -> Outcome {
        let body = Self.body(for: plan, callbackURL: app.callbackURL(for: plan.family))
        let path = plan.family == .veo ? "/api/v1/veo/generate" : "/api/v1/jobs/createTask"
        let response: HTTPResponse
        do {
            let request = try HTTPClientRequest(
                method: "POST", url: agentBaseURL + path,
                headers: ["Authorization": "Bearer \(keys[plan.keyIndex])", "Content-Type": "application/json"],
                body: body.serializedBytes())
            response = try await client.send(request, timeout: .seconds(10))
        } catch {
            if case .connectFailed = error { return .refused }
            return .ambiguous("\(error)")
        }
        let envelope = try? JSONValue.parse(response.body)
        let code = envelope?["code"]?.intValue
        if code == 429 { return .rateLimited }
        guard response.status == 200, code == 200, let id = envelope?["data"]?["taskId"]?.nonEmptyString else {
            return .ambiguous("HTTP \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))")
        }
        return .created(Created(taskID: id, model: plan.model, family: plan.family, at: scenarioNow()))
    }

    /// A create body as a real integration sends it for the model (duration fields as Kie documents them).
    static func body(for plan: ScenarioTaskPlan, callbackURL: String) -> JSONValue {
        let prompt = JSONValue.string("scenario task \(plan.index): a lighthouse in a storm")
        if plan.family == .veo {
            return [
                "prompt": prompt, "model": .string(plan.model), "generationType": "TEXT_2_VIDEO",
                "aspect_ratio": plan.index % 2 == 0 ? "16:9" : "9:16", "callBackUrl": .string(callbackURL),
            ]
        }
        let input: JSONValue =
            if plan.model.hasPrefix("sora-2") {
                ["prompt": prompt, "n_frames": "10", "aspect_ratio": "landscape"]
            } else if plan.model.hasPrefix("kling") {
                ["prompt": prompt, "duration": "5", "aspect_ratio": "16:9"]
            } else if plan.model.hasPrefix("grok") {
                ["prompt": prompt, "duration": 6, "aspect_ratio": "16:9"]
            } else if plan.model.hasPrefix("wan/") {
                ["prompt": prompt, "duration": "5"]
            } else {
                ["prompt": prompt]
            }
        return ["model": .string(plan.model), "callBackUrl": .string(callbackURL), "input": input]
    }
}

// MARK: - Reading answers

/// Prometheus text exposition, parsed into samples.
struct ScenarioMetrics {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    let samples: [Sample]

    init(text: String) {
        self.text = text
        samples = text.split(separator: "\n").compactMap { Self.sample(String($0)) }
    }

    /// `name` summed per value of `label` (e.g. per model), or per "value value2" of `label` and
    /// `label2`; other labels folded; only samples matching `filter`.
    func sum(_ name: String, by label: String, and label2: String? = nil, where filter: [String: String] = [:]) -> [String: Int] {
        var out: [String: Int] = [:]
        for sample in samples where sample.name == name {
            guard filter.allSatisfy({ sample.labels[$0.key] == $0.value }) else { continue }
            var key = sample.labels[label] ?? ""
            if let label2 { key += " " + (sample.labels[label2] ?? "") }
            out[key, default: 0] += Int(sample.value)
        }
        return out
    }

    static func sample(_ line: String) -> Sample? {
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
        else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)...].dropLast()  // without the closing brace
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingPrefix(",")
            var cursor = rest.index(equals, offsetBy: 2)  // past ="
            var value = ""
            while cursor < rest.endIndex, rest[cursor] != "\"" {
                if rest[cursor] == "\\", rest.index(after: cursor) < rest.endIndex {
                    cursor = rest.index(after: cursor)
                    value.append(rest[cursor] == "n" ? "\n" : rest[cursor])
                } else {
                    value.append(rest[cursor])
                }
                cursor = rest.index(after: cursor)
            }
            labels[String(key)] = value
            rest = cursor < rest.endIndex ? rest[rest.index(after: cursor)...] : rest[rest.endIndex...]
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }
}

/// The console's `sql ... --json` answer: rows of strings (nil is NULL).
struct ScenarioSQLResult {
    var columns: [String]
    var rows: [[String?]]

    init(json: JSONValue) throws {
        guard let columns = json["columns"]?.arrayValue?.compactMap(\.stringValue), let rows = json["rows"]?.arrayValue
        else { throw ScenarioError("not an sql answer: \(json.serialized())") }
        guard json["truncated"] == false else { throw ScenarioError("sql answer truncated: raise the limit or narrow the query") }
        self.columns = columns
        self.rows = rows.map { row in (row.arrayValue ?? []).map { $0.isNull ? nil : $0.stringValue } }
    }

    /// The rows as dictionaries by column name.
    var records: [[String: String]] {
        rows.map { row in
            var record: [String: String] = [:]
            for (column, value) in zip(columns, row) { record[column] = value }
            return record
        }
    }
}
