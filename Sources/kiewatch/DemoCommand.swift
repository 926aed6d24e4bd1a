import KieWatchCore

enum DemoCommand: Subcommand {
    static let name = "demo"
    static let summary = "simulator + agent + synthetic app + console, all local"
    static let usage = "kiewatch demo [options]"
    static let options: [OptionSpec] = []

    static func run(_ arguments: [String]) async -> Int32 {
        printError("kiewatch demo: not yet available in this build")
        return 1
    }
}
