import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchSimulator
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `kiewatch demo`: simulator + agent + a synthetic app + the console, all on loopback, so a
/// newcomer sees kiewatch at work in under a minute: traffic, lost callbacks recovered,
/// metrics moving, the console answering.
enum DemoCommand: Subcommand {
    static let name = "demo"
    static let summary = "simulator + agent + synthetic app (market, Veo, Runway, Suno, ...) + console, all local"
    static let usage = "kiewatch demo [--no-console] [--keep-db] [--listen HOST:PORT] [--seconds N] [--seed N]"
    static let options: [OptionSpec] = [
        OptionSpec("--no-console", help: "keep running and print a one-line summary every 5 s instead of the console"),
        OptionSpec("--keep-db", help: "keep the demo's database (and logs) when it stops"),
        OptionSpec("--listen", value: "HOST:PORT", default: "127.0.0.1:0 (any free port)", help: "where the agent listens"),
        OptionSpec("--seconds", value: "N", help: "stop by itself after N seconds (with --no-console)"),
        OptionSpec("--seed", value: "N", default: "the clock", help: "the fake Kie's seed: which tasks fail and which callbacks get lost"),
    ]

    static func run(_ arguments: [String]) async -> Int32 {
        let signals = SignalWatcher()
        let cli: CommandLineOptions
        let listen: HostPort
        var seconds: Int?
        var seed = UInt64(SystemClock().now() % 1_000_000)
        do {
            cli = try CommandLineOptions(arguments, specs: options)
            if let extra = cli.positionals.first { throw ConfigError("\(extra): unexpected argument (see --help)") }
            listen = try cli.lookup("--listen").map { try HostPort.parse($0.value, for: "--listen") }
                ?? HostPort(host: "127.0.0.1", port: 0)
            if let raw = cli.lookup("--seconds")?.value {
                guard let n = Int(raw), n > 0 else { throw ConfigError("--seconds: expected a whole number above 0, got '\(raw)'") }
                seconds = n
            }
            if let raw = cli.lookup("--seed")?.value {
                guard let n = UInt64(raw) else { throw ConfigError("--seed: expected a whole number, got '\(raw)'") }
                seed = n
            }
        } catch {
            return CommandRouter.usageError("demo: \(error)")
        }
        let interactive = !cli.has("--no-console")
        let keep = cli.has("--keep-db")
        guard let directory = makeTemporaryDirectory() else {
            printError("kiewatch demo: cannot create a temporary directory: \(String(cString: strerror(errno)))")
            return 1
        }
        let logPath = directory + "/agent.log"
        let logger = Logger(sink: FileLogSink(path: logPath).write)

        // 1. The fake Kie: a few lost, late and duplicate callbacks, some failures, the real 429 rule.
        var simulation = SimulatorConfiguration()
        simulation.speed = 12
        simulation.seed = seed
        simulation.dropCallbackRate = 0.12
        simulation.duplicateCallbackRate = 0.05
        simulation.lateCallbackRate = 0.04
        simulation.failureRate = 0.08
        simulation.lateCallbackDelay = .seconds(5 * 60) ... .seconds(8 * 60)
        let simulator = KieSimulator(configuration: simulation, clock: SystemClock(), callbackSender: TransportCallbackSender())
        let simulatorHTTP = HTTPServerService(
            "simulator-http", server: HTTPServer(handler: simulator), host: "127.0.0.1", port: 0)
        let simulatorGroup = ServiceGroup(
            [simulatorHTTP, LoopService("simulator") { await simulator.run() }], maximumShutdownDuration: .seconds(1))

        // 2. The agent in front of it, with short deadlines so recovery shows within a minute.
        var configuration = AgentConfiguration()
        configuration.listen = listen
        configuration.databasePath = directory + "/kiewatch.db"
        configuration.adminSocketPath = directory + "/kiewatch.sock"
        configuration.apiKey = "demo-key"
        configuration.callbackSecret = "demo-callback-secret"
        configuration.deadlines.configuredDefault = 25_000
        configuration.creditCheckIntervalMillis = 15_000
        configuration.retentionMillis = 86_400_000

        // 3. Started in that order, then the synthetic app (its callbacks come to a listener of
        //    its own, then it creates tasks); a failure stops what had started, in reverse.
        var agentService: AgentService?
        var demoApp: DemoApp?
        var startedAppGroup: ServiceGroup?
        do {
            try await simulatorGroup.start()
            configuration.upstream = "http://127.0.0.1:\(simulatorHTTP.boundPort)"
            configuration.uploadUpstream = configuration.upstream
            let started = try await AgentService.start(configuration: configuration, logger: logger)
            agentService = started
            let app = DemoApp(agentURL: "http://127.0.0.1:\(started.port)")
            demoApp = app
            let group = ServiceGroup(
                [
                    HTTPServerService(
                        "app-http", server: HTTPServer(handler: app), host: "127.0.0.1", port: 0,
                        onBound: { app.receiving(at: "http://127.0.0.1:\($0)") }),
                    LoopService("traffic") { await app.generate(interval: .milliseconds(650)) },
                ],
                maximumShutdownDuration: .seconds(1))
            startedAppGroup = group
            try await group.start()
        } catch {
            printError("kiewatch demo: \(error)")
            await startedAppGroup?.shutdown()
            await agentService?.stop()
            await simulatorGroup.shutdown()
            return 1
        }
        guard let service = agentService, let app = demoApp, let appGroup = startedAppGroup else { return 1 }

        let agentURL = "http://127.0.0.1:\(service.port)"
        print("""
            kiewatch demo: a fake Kie.ai (\(configuration.upstream)), the agent (\(agentURL)) and a synthetic app
            creating tasks of \(DemoApp.familyTitles.count) Kie families: \(DemoApp.familyTitles.joined(separator: ", ")).
            The fake Kie loses ~12% of callbacks; the agent finds them after a 25 s deadline, polls Kie
            and relays the result to the app.

              metrics     curl -s \(agentURL)/metrics | grep kiewatch_webhooks
              console     kiewatch console --socket \(configuration.adminSocketPath)
              agent log   \(logPath)

            """)

        var code: Int32 = 0
        if interactive {
            print("Try: status, models 15m, tasks, stale, missed, relay, task <id>  (Tab completes; quit or Ctrl-D ends the demo)\n")
            code = await ConsoleCLI.run(["--socket", configuration.adminSocketPath], environment: environment())
        } else {
            let stop = StopFlag()
            let stopper = Task {
                if let seconds { try? await Task.sleep(for: .seconds(seconds)) } else { _ = await signals.wait() }
                stop.set()
            }
            var ticks = 0
            while !stop.isSet {
                try? await Task.sleep(for: .milliseconds(250))
                ticks += 1
                if ticks % 20 == 0 || stop.isSet { print(summary(app.snapshot)) }
            }
            await stopper.value
        }

        // In reverse: the app (traffic, then its listener), the agent, the fake Kie.
        await appGroup.shutdown()
        await service.stop()
        await simulatorGroup.shutdown()
        let final = app.snapshot
        print("demo stopped: app created \(final.created) tasks and received \(final.received) callbacks (\(final.recovered) recovered by kiewatch, \(final.duplicates) duplicates).")
        if keep {
            print("database kept: \(configuration.databasePath)   (kiewatch console --db \(configuration.databasePath))")
        } else {
            removeDirectory(directory)
            print("database removed (use --keep-db to keep it).")
        }
        return code
    }

    static func summary(_ c: DemoApp.Counts) -> String {
        let refused = c.refused.sorted { $0.key < $1.key }.map { "\($0.value) x \($0.key)" }.joined(separator: ", ")
        return "app: \(c.created) tasks created, \(c.received) callbacks received (\(c.recovered) recovered by kiewatch, "
            + "\(c.duplicates) duplicates), creates refused: \(refused.isEmpty ? "none" : refused)"
    }

    static func makeTemporaryDirectory() -> String? {
        var template = Array("/tmp/kiewatch-demo-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        return String(cString: created)
    }

    static func removeDirectory(_ path: String) {
        guard let dir = opendir(path) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name == "." || name == ".." { continue }
            unlink(path + "/" + name)
        }
        closedir(dir)
        rmdir(path)
    }
}

/// Set once, from any task.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// Appends log lines to a file (the demo keeps the agent's log out of the console).
final class FileLogSink: Sendable {
    private let fd: Int32

    init(path: String) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The sink; it keeps this object (and so the file) open as long as it lives.
    var write: @Sendable (String) -> Void {
        { [self] line in
            guard fd >= 0 else { return }
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }
}
