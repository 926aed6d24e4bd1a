import KieWatchAgent
import KieWatchCore
import KieWatchRuntime

/// `kiewatch serve`: the agent, until SIGINT/SIGTERM, then a graceful stop within `--grace`
/// (exit 0); a second signal during it flushes the store and exits at once (128 + signal).
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
        logger.info(
            "agent.stopping",
            ["signal": String(signal), "grace": DurationText.format(millis: configuration.shutdownGraceMillis)])
        let grace = Duration.milliseconds(configuration.shutdownGraceMillis)
        if let second = await service.stop(gracePeriod: grace, interruptedBy: { await signals.wait() }) {
            logger.warn("agent.stopped_now", ["signal": String(second), "detail": "second signal: store flushed, requests under way cut"])
            return 128 + second
        }
        logger.info("agent.stopped", [:])
        return 0
    }
}
