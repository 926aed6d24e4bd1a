import KieWatchCore

enum SimulateCommand: Subcommand {
    static let name = "simulate"
    static let summary = "a fake Kie.ai upstream on loopback (tests, demo, benchmarks)"
    static let usage = "kiewatch simulate [options]"
    static let options: [OptionSpec] = []

    static func run(_ arguments: [String]) async -> Int32 {
        printError("kiewatch simulate: not yet available in this build")
        return 1
    }
}
