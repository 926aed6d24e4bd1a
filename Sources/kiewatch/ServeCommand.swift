import KieWatchAgent
import KieWatchCore
import KieWatchHTTP


/// `kiewatch serve`: the agent, until SIGINT/SIGTERM, then a graceful stop.
enum ServeCommand: Subcommand {
    static let name = "serve"
    static let summary = "run the agent: proxy, webhooks, relay, recovery, /metrics, admin socket"
    static let usage = "kiewatch serve [options]   (secrets only from the environment: KIE_API_KEY, KIE_CALLBACK_SECRET, KIE_WEBHOOK_HMAC_KEY)"
    static let options = AgentConfiguration.options

    static func run(_ arguments: [String]) async -> Int32 {
        let signals = SignalWatcher()
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.resolve(
                arguments: arguments, environment: environment(), readFile: readTextFile)
        } catch {
            return CommandRouter.usageError("serve: \(error)")
        }
        let logger = Logger()
        let service: AgentService
        do {
            service = try await AgentService.start(configuration: configuration, logger: logger)
        } catch {
            printError("kiewatch serve: \(error)")
            return 1
        }
        let signal = await signals.wait()
        logger.info("agent.stopping", ["signal": String(signal)])
        await service.stop()
        logger.info("agent.stopped", [:])
        return 0
    }
}
