import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchSimulator

/// `kiewatch simulate`: the fake Kie.ai on loopback, until SIGINT/SIGTERM.
enum SimulateCommand: Subcommand {
    static let name = "simulate"
    static let summary = "a fake Kie.ai upstream on loopback (tests, demo, benchmarks)"
    static let usage = "kiewatch simulate [--listen 127.0.0.1:9500] [--speed X] [--seed N] [fault options]"
    static let options: [OptionSpec] = []
    static var helpText: String {
        summary + "\n\ntask families served (the agent's family table): "
            + TaskFamily.all.map(\.rawValue).joined(separator: ", ") + "\n\n" + SimulatorConfiguration.helpText
    }

    static func run(_ arguments: [String]) async -> Int32 {
        let signals = SignalWatcher()
        let configuration: SimulatorConfiguration
        do {
            configuration = try SimulatorConfiguration.parse(arguments: arguments)
        } catch {
            return CommandRouter.usageError("simulate: \(error)")
        }
        let listen: HostPort
        do {
            listen = try HostPort.parse(configuration.listen, for: "--listen")
        } catch {
            return CommandRouter.usageError("simulate: \(error)")
        }
        let logger = Logger()
        let simulator = KieSimulator(configuration: configuration, clock: SystemClock(), callbackSender: TransportCallbackSender())
        let http = HTTPServerService(server: HTTPServer(handler: simulator), host: listen.host, port: listen.port)
        let group = ServiceGroup(
            [http, LoopService("simulator") { await simulator.run() }], maximumShutdownDuration: .seconds(5), logger: logger)
        do {
            try await group.start()
        } catch {
            printError("kiewatch simulate: cannot listen on \(listen): \(error.underlying ?? error)")
            return 1
        }
        logger.info(
            "simulator.started",
            ["listen": HostPort(host: listen.host, port: http.boundPort).description,
             "speed": String(configuration.speed), "seed": String(configuration.seed)])
        let signal = await signals.wait()
        logger.info("simulator.stopping", ["signal": String(signal)])
        await group.shutdown()
        let stats = simulator.snapshot()
        logger.info(
            "simulator.stopped",
            ["tasks": String(stats.tasksCreatedTotal), "callbacks_sent": String(stats.callbacksDelivered),
             "callbacks_dropped": String(stats.callbacksDropped)])
        return 0
    }
}
