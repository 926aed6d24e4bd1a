import KieWatchCore

enum ServeCommand: Subcommand {
    static let name = "serve"
    static let summary = "run the agent: proxy, webhooks, relay, recovery, /metrics, admin socket"
    static let usage = "kiewatch serve [options]"
    static let options: [OptionSpec] = []

    static func run(_ arguments: [String]) async -> Int32 {
        printError("kiewatch serve: not yet available in this build")
        return 1
    }
}
