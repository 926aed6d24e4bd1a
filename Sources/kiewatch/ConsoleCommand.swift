import KieWatchAgent
import KieWatchCore

/// `kiewatch console`: the REPL, `-c CMD`, or `--db PATH` offline. The work is in
/// `ConsoleCLI` (KieWatchAgent), where tests reach it.
enum ConsoleCommand: Subcommand {
    static let name = "console"
    static let summary = "the on-call console (REPL, -c CMD, or --db PATH offline)"
    static let usage = ConsoleCLI.usage
    static let options: [OptionSpec] = [
        OptionSpec("--command", short: "-c", value: "CMD", help: "run one command and exit (0 ok, 1 error answer, 2 bad usage)"),
        OptionSpec("--json", help: "JSON answers (inside the REPL: .format json)"),
        OptionSpec("--socket", value: "PATH", env: "KIEWATCH_ADMIN_SOCKET", default: "./kiewatch.sock",
                   help: "the agent's admin socket"),
        OptionSpec("--db", value: "PATH", help: "open a database file read-only, no agent needed (sync unavailable)"),
    ]

    static func run(_ arguments: [String]) async -> Int32 {
        await ConsoleCLI.run(arguments, environment: environment())
    }
}
