import Foundation
import KieWatchTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Failures of the live-process helpers, each saying what was awaited or run and what was seen.
struct LiveError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: Binaries and ports

/// The `kiewatch` executable built next to the test bundle.
enum LiveBinary {
    /// `kiewatch` in the directory of the running test bundle (the same build configuration),
    /// else `<package>/.build/debug/kiewatch`; an error telling to build first when neither exists.
    static func kiewatch() throws -> URL {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("kiewatch"))
        }
        candidates.append(ExternalTools.packageRoot.appendingPathComponent(".build/debug/kiewatch"))
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        throw LiveError("kiewatch binary not found (looked at \(candidates.map(\.path))): run `swift build` first")
    }
}

enum LivePorts {
    /// A loopback TCP port that was free a moment ago (bound to 0, read back, closed). Another
    /// process may take it before ours binds it; `LiveProcess.start` retries with a new port.
    static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LiveError("socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 ? getsockname(fd, pointer, &length) : -1
            }
        }
        guard status == 0 else { throw LiveError("bind(127.0.0.1:0): errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

// MARK: Waiting

enum LiveWait {
    /// Polls `probe` until it returns a value, every `interval`, for at most `timeout`. On
    /// timeout the error names `what` and the last observation `probe` reported through `note`.
    static func until<T>(
        _ what: String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(250),
        _ probe: (_ note: inout String) throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var note = ""
        while true {
            if let value = try probe(&note) { return value }
            if ContinuousClock.now >= deadline {
                throw LiveError("timed out after \(timeout) waiting for \(what)" + (note.isEmpty ? "" : "; last seen: \(note)"))
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Waits until `GET /-/ready` on 127.0.0.1:`port` answers 200 (Prometheus, Alertmanager).
    static func ready(_ name: String, port: Int, timeout: Duration = .seconds(20)) async throws {
        _ = try await until("\(name) /-/ready", timeout: timeout) { note in
            let response = try? LiveHTTP.request("GET", port: port, path: "/-/ready")
            note = response.map { "HTTP \($0.status)" } ?? "no answer"
            return response?.status == 200 ? true : nil
        }
    }
}

// MARK: Temporary directory

/// A directory under the system temp dir, removed by `remove()` (call it in a `defer`).
final class LiveTemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(_ prefix: String) throws {
        // Short: the agent's admin socket lives here and Unix socket paths are capped at 108 bytes.
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        url = URL(fileURLWithPath: "/tmp", isDirectory: true).appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Removes the directory, unless `KIEWATCH_E2E_KEEP` is set (to read logs and databases
    /// after a failure; the path is printed).
    func remove() {
        if ProcessInfo.processInfo.environment["KIEWATCH_E2E_KEEP"] != nil {
            print("kept \(url.path)")
            return
        }
        try? FileManager.default.removeItem(at: url)
    }
}

// MARK: Processes

/// A child process whose stdout and stderr go to one log file; stopped with SIGTERM, then
/// SIGKILL after a grace period.
final class LiveProcess {
    let name: String
    let process: Process
    let logFile: URL

    private init(name: String, process: Process, logFile: URL) {
        self.name = name
        self.process = process
        self.logFile = logFile
    }

    /// Starts `executable` and waits until its log contains `readyLine` (a child that exits
    /// first is an error carrying its log).
    static func start(
        name: String, executable: URL, arguments: [String], environment: [String: String] = [:],
        logFile: URL, readyLine: String, timeout: Duration = .seconds(20)
    ) async throws -> LiveProcess {
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = cleanEnvironment().merging(environment) { _, given in given }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let child = LiveProcess(name: name, process: process, logFile: logFile)
        do {
            _ = try await LiveWait.until("\(name) to log '\(readyLine)'", timeout: timeout, interval: .milliseconds(50)) {
                note in
                let text = child.log
                if text.contains(readyLine) { return true }
                if !process.isRunning {
                    throw LiveError(
                        "\(name) exited with status \(process.terminationStatus) before it was ready:\n\(text)")
                }
                note = String(text.suffix(400))
                return nil
            }
        } catch {
            child.stop()
            throw error
        }
        return child
    }

    /// The parent's environment without kiewatch's and Kie's own variables, so a developer's
    /// shell settings cannot change what the test runs.
    static func cleanEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in !key.hasPrefix("KIE_") && !key.hasPrefix("KIEWATCH_") }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// The local addresses (`127.0.0.1:9464`, `[::1]:80`) of the TCP sockets this process
    /// listens on, from `/proc/<pid>/fd` and `/proc/net/tcp{,6}`.
    func listeningAddresses() throws -> [String] {
        let fdDirectory = "/proc/\(pid)/fd"
        var inodes: Set<String> = []
        for fd in try FileManager.default.contentsOfDirectory(atPath: fdDirectory) {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                target.hasPrefix("socket:[")
            else { continue }
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        // The kernel prints these tables in chunks; sockets opened and closed meanwhile (other
        // tests run in parallel) can shift a row past a chunk boundary. Union a few reads.
        var addresses: Set<String> = []
        for _ in 0..<3 {
            for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
                let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    // sl local_address rem_address st ... inode (field 9); st 0A = LISTEN
                    guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
                    addresses.insert(Self.decodeAddress(String(fields[1])))
                }
            }
            usleep(10_000)
        }
        return addresses.sorted()
    }

    /// `0100007F:1F90` → `127.0.0.1:8080`; 32-digit IPv6 addresses → `[hex groups]:port`.
    static func decodeAddress(_ text: String) -> String {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1], radix: 16) else { return text }
        let hex = Array(parts[0])
        if hex.count == 8 {
            // One little-endian 32-bit word.
            let bytes = stride(from: 6, through: 0, by: -2).map { Int(String(hex[$0..<($0 + 2)]), radix: 16) ?? 0 }
            return bytes.map(String.init).joined(separator: ".") + ":\(port)"
        }
        if hex == Array("00000000000000000000000001000000") { return "[::1]:\(port)" }
        return "[\(String(hex))]:\(port)"
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; returns once the child is reaped.
    func stop(grace: Duration = .seconds(5)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Starts a server listening on a fresh free port, retrying with another port when the
    /// child exits before it is ready (the port was taken between `LivePorts.free()` and bind).
    static func startListening(
        attempts: Int = 3, _ start: (_ port: Int) async throws -> LiveProcess
    ) async throws -> (LiveProcess, Int) {
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let port = try LivePorts.free()
            do {
                return (try await start(port), port)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? LiveError("no attempt made")
    }
}

// MARK: The app's callback endpoint

/// What the app behind kiewatch would be: answers every relayed callback with `status` (200
/// unless a test wants the app to fail) and counts them.
final class LiveCallbackReceiver: Sendable {
    private final class Count: Sendable { let value = Atomic<Int>(0) }

    private let server: RawTCPServer
    private let received = Count()

    init(status: Int = 200) throws {
        let received = self.received
        server = try RawTCPServer { connection in
            while connection.readRequest() != nil {
                received.value.add(1, ordering: .relaxed)
                connection.write(RawTCPServer.response(status: status, body: "ok"))
            }
        }
    }

    var port: Int { server.port }
    var url: String { "http://127.0.0.1:\(server.port)/kie-callback" }
    /// Callback requests answered so far.
    var count: Int { received.value.load(ordering: .relaxed) }

    func stop() { server.stop() }
}

// MARK: Simulator + agent

/// The fake Kie, the agent proxying it, and an app callback endpoint, all on 127.0.0.1 in one
/// temporary directory; `stop()` (in a `defer`) ends them in reverse start order and removes it.
final class LiveStack {
    struct Options {
        /// Extra `kiewatch simulate` flags (`--speed`, `--seed`, `--api-key good` are always set).
        var simulatorArguments: [String] = []
        /// The agent's `--config` file.
        var agentConfig = "deadline.default = 2s\n"
        var recoveryRate = 10
        /// The key the simulator accepts and the app uses.
        var apiKey = "good"
        /// Whether the agent gets `KIE_API_KEY` (without it: no recovery polls, no credit checks).
        var agentHasAPIKey = true
        /// What the app's callback endpoint answers.
        var callbackStatus = 200
        var callbackSecret = "s3cret"
        /// `KIE_WEBHOOK_HMAC_KEY` for the agent (nil: signatures are not checked).
        var webhookHMACKey: String?
    }

    static let speed = "1000"

    let directory: LiveTemporaryDirectory
    let options: Options
    let kiewatch: URL
    let receiver: LiveCallbackReceiver
    private(set) var simulator: LiveProcess?
    private(set) var simulatorPort = 0
    private(set) var agent: LiveProcess?
    private(set) var agentPort = 0
    /// When the stack was started (Unix seconds), for plausibility checks of timestamps.
    let startedAt = Date().timeIntervalSince1970

    var databasePath: String { directory.file("agent.db").path }
    var adminSocketPath: String { directory.file("admin.sock").path }
    var configPath: String { directory.file("agent.conf").path }

    private init(options: Options) throws {
        kiewatch = try LiveBinary.kiewatch()
        self.options = options
        directory = try LiveTemporaryDirectory("kw-live")
        do {
            receiver = try LiveCallbackReceiver(status: options.callbackStatus)
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Starts the simulator and the agent; everything started is stopped again if a step fails.
    static func start(_ options: Options = Options()) async throws -> LiveStack {
        let stack = try LiveStack(options: options)
        do {
            try await stack.startSimulator()
            try await stack.startAgent()
        } catch {
            stack.stop()
            throw error
        }
        return stack
    }

    private func startSimulator() async throws {
        let kiewatch = self.kiewatch
        let log = directory.file("simulator.log")
        let arguments = ["--speed", Self.speed, "--seed", "7", "--api-key", options.apiKey] + options.simulatorArguments
        (simulator, simulatorPort) = try await LiveProcess.startListening { port in
            try await LiveProcess.start(
                name: "kiewatch simulate", executable: kiewatch,
                arguments: ["simulate", "--listen", "127.0.0.1:\(port)"] + arguments,
                logFile: log, readyLine: "event=simulator.started")
        }
    }

    /// Starts (or restarts, on the same database) the agent.
    func startAgent() async throws {
        try options.agentConfig.write(toFile: configPath, atomically: true, encoding: .utf8)
        let (kiewatch, options, simulatorPort) = (self.kiewatch, self.options, self.simulatorPort)
        let (db, socket, config) = (databasePath, adminSocketPath, configPath)
        let log = directory.file("agent.log")
        (agent, agentPort) = try await LiveProcess.startListening { port in
            try await LiveProcess.start(
                name: "kiewatch serve", executable: kiewatch,
                arguments: [
                    "serve", "--listen", "127.0.0.1:\(port)", "--upstream", "http://127.0.0.1:\(simulatorPort)",
                    "--db", db, "--admin-socket", socket, "--config", config,
                    "--recovery-rate", String(options.recoveryRate),
                ],
                environment: ["KIE_CALLBACK_SECRET": options.callbackSecret]
                    .merging(options.agentHasAPIKey ? ["KIE_API_KEY": options.apiKey] : [:]) { a, _ in a }
                    .merging(options.webhookHMACKey.map { ["KIE_WEBHOOK_HMAC_KEY": $0] } ?? [:]) { a, _ in a },
                logFile: log, readyLine: "event=agent.started")
        }
    }

    func stopAgent() {
        agent?.stop()
        agent = nil
    }

    func stop() {
        // A child that died on its own is a finding, whatever the test checked: say so with its log.
        for child in [agent, simulator].compactMap({ $0 }) where !child.isRunning {
            Issue.record("\(child.name) exited on its own with status \(child.process.terminationStatus):\n\(String(child.log.suffix(4000)))")
        }
        agent?.stop()
        simulator?.stop()
        receiver.stop()
        directory.remove()
    }

    /// The logs of both processes, for failure messages.
    var logs: String {
        "--- agent log ---\n\(agent?.log ?? "")\n--- simulator log ---\n\(simulator?.log ?? "")"
    }

    // MARK: Traffic through the proxy, as an app would send it

    /// `POST /api/v1/jobs/createTask` (market models) or `/api/v1/veo/generate` (veo*), with the
    /// receiver as callBackUrl; returns the task id.
    @discardableResult
    func createTask(model: String, key: String? = nil) throws -> String {
        let veo = model.lowercased().hasPrefix("veo")
        let body: [String: Any] =
            veo
            ? ["model": model, "prompt": "a lighthouse at dusk", "callBackUrl": receiver.url]
            : ["model": model, "callBackUrl": receiver.url, "input": ["prompt": "a lighthouse at dusk"]]
        let response = try LiveHTTP.request(
            "POST", port: agentPort, path: veo ? "/api/v1/veo/generate" : "/api/v1/jobs/createTask",
            headers: ["Authorization": "Bearer \(key ?? options.apiKey)", "Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: body))
        let json = try response.json()
        guard let data = json["data"] as? [String: Any], let id = data["taskId"] as? String else {
            throw LiveError("create \(model): no taskId in HTTP \(response.status) \(response.text)")
        }
        return id
    }

    /// A create the upstream refuses (wrong key): returns the body code.
    func createTaskRejected(model: String, key: String) throws -> Int {
        let body: [String: Any] = ["model": model, "input": ["prompt": "x"]]
        let response = try LiveHTTP.request(
            "POST", port: agentPort, path: "/api/v1/jobs/createTask",
            headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: body))
        return (try response.json()["code"] as? NSNumber)?.intValue ?? response.status
    }

    /// `GET recordInfo` (market) or `record-info` (veo) through the proxy; returns the task's state field.
    func recordInfo(taskID: String, veo: Bool = false) throws -> LiveHTTP.Response {
        let path = veo ? "/api/v1/veo/record-info" : "/api/v1/jobs/recordInfo"
        return try LiveHTTP.request(
            "GET", port: agentPort, path: "\(path)?taskId=\(taskID)",
            headers: ["Authorization": "Bearer \(options.apiKey)"])
    }

    /// Posts a raw body to the agent's market webhook with the given `secret` query parameter.
    func postWebhook(secret: String, body: String) throws -> LiveHTTP.Response {
        try LiveHTTP.request(
            "POST", port: agentPort, path: "/webhooks/kie?secret=\(secret)",
            headers: ["Content-Type": "application/json"], body: Data(body.utf8))
    }

    /// `GET /metrics` with an optional `Accept` header.
    func scrape(accept: String? = nil) throws -> LiveHTTP.Response {
        let response = try LiveHTTP.request(
            "GET", port: agentPort, path: "/metrics", headers: accept.map { ["Accept": $0] } ?? [:])
        guard response.status == 200 else { throw LiveError("GET /metrics: HTTP \(response.status) \(response.text)") }
        return response
    }

    // MARK: The console, as the on-call person would use it

    /// `kiewatch console --db <db> -c <command>` (read-only, works with or without the agent).
    func console(_ command: String, json: Bool = false) throws -> ExternalTools.ToolResult {
        try ToolRunner.runBlocking(kiewatch, ["console", "--db", databasePath] + (json ? ["--json"] : []) + ["-c", command])
    }

    /// The single number answered by `sql SELECT count(*) ...` (or any one-cell query).
    func sqlNumber(_ select: String) throws -> Double {
        let result = try console("sql \(select)", json: true)
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let rows = object["rows"] as? [[Any]], let cell = rows.first?.first
        else {
            throw LiveError("\(result.commandLine) exited \(result.status): \(result.output)")
        }
        if let number = cell as? NSNumber { return number.doubleValue }
        if let text = cell as? String, let number = Double(text) { return number }
        if cell is NSNull { return 0 }
        throw LiveError("\(result.commandLine): not a number: \(cell)")
    }
}
