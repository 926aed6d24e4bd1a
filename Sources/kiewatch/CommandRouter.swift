import KieWatchCore

/// One subcommand of `kiewatch`.
protocol Subcommand: Sendable {
    static var name: String { get }
    static var summary: String { get }
    static var usage: String { get }
    static var options: [OptionSpec] { get }
    /// `kiewatch help COMMAND` and `--help`; by default built from `usage` and `options`.
    static var helpText: String { get }
    /// Runs the command; returns the process exit code.
    static func run(_ arguments: [String]) async -> Int32
}

extension Subcommand {
    static var helpText: String {
        var text = "usage: \(usage)\n\n\(summary)\n"
        if !options.isEmpty { text += "\noptions:\n" + CommandLineOptions.help(for: options) + "\n" }
        return text
    }
}

/// Parses the first argument and hands the rest to the subcommand. Bad usage exits 2 with
/// one line on stderr that names what is wrong.
enum CommandRouter {
    static let commands: [any Subcommand.Type] = [
        ServeCommand.self, ConsoleCommand.self, SimulateCommand.self, DemoCommand.self,
    ]

    static func run(_ arguments: [String]) async -> Int32 {
        guard let first = arguments.first else {
            print(overview)
            return 0
        }
        let rest = Array(arguments.dropFirst())
        switch first {
        case "version", "--version", "-V":
            print("kiewatch \(KieWatchVersion.current)")
            return 0
        case "help", "--help", "-h":
            if let topic = rest.first {
                guard let command = commands.first(where: { $0.name == topic }) else {
                    return usageError("help: unknown command '\(topic)'; commands: \(names)")
                }
                print(help(for: command))
            } else {
                print(overview)
            }
            return 0
        default:
            guard let command = commands.first(where: { $0.name == first }) else {
                return usageError("unknown command '\(first)'; commands: \(names), version, help")
            }
            if rest.contains("--help") || rest.contains("-h") {
                print(help(for: command))
                return 0
            }
            return await command.run(rest)
        }
    }

    static var names: String { commands.map { $0.name }.joined(separator: ", ") }

    static var overview: String {
        var lines = [
            "kiewatch \(KieWatchVersion.current): observability agent for Kie.ai's asynchronous video API",
            "",
            "usage: kiewatch COMMAND [options]",
            "",
            "commands:",
        ]
        for c in commands { lines.append("  " + c.name.padding(to: 10) + c.summary) }
        lines.append("  " + "version".padding(to: 10) + "print the version")
        lines.append("  " + "help".padding(to: 10) + "this text, or `kiewatch help COMMAND`")
        lines.append("")
        lines.append("Start with `kiewatch demo`; `kiewatch help serve` lists the agent's settings.")
        return lines.joined(separator: "\n")
    }

    static func help(for command: any Subcommand.Type) -> String { command.helpText }

    /// One line on stderr, exit code 2.
    static func usageError(_ message: String) -> Int32 {
        printError("kiewatch: \(message)")
        return 2
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
