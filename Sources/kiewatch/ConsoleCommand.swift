import KieWatchCore

enum ConsoleCommand: Subcommand {
    static let name = "console"
    static let summary = "the on-call console (REPL, -c CMD, or --db PATH offline)"
    static let usage = "kiewatch console [options]"
    static let options: [OptionSpec] = []

    static func run(_ arguments: [String]) async -> Int32 {
        printError("kiewatch console: not yet available in this build")
        return 1
    }
}
