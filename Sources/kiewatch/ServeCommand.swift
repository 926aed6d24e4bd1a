import KieWatchAgent
import KieWatchCore
import KieWatchHTTP

#if canImport(Glibc)
import Glibc
#endif

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

/// The process environment as a dictionary.
func environment() -> [String: String] {
    var out: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        pointer += 1
    }
    return out
}

/// A whole text file, or an error saying why not.
func readTextFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw ConfigError(String(cString: strerror(errno))) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw ConfigError("not UTF-8 text") }
    return text
}
