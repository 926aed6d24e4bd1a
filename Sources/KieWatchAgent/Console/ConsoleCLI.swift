#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KieWatchConsole
import KieWatchCore
import KieWatchStore
import Synchronization

/// `kiewatch console [-c CMD] [--json] [--socket P | --db P]`: the on-call engineer's side.
///
/// Lives in the agent module (the `kiewatch` executable only forwards to it) so tests can
/// drive the real thing: `-c` against an in-process `AdminServer`, `--db` offline.
///
/// Exit codes: 0 when the (last) command answered ok, 1 when it answered an error or the
/// agent/database could not be reached, 2 for bad usage of `kiewatch console` itself.
package enum ConsoleCLI {
    package static let usage = "kiewatch console [-c CMD] [--json] [--socket PATH | --db PATH]"

    /// Where the CLI writes; the real one is stdout/stderr, tests capture.
    package struct Output: Sendable {
        package var out: @Sendable (String) -> Void
        package var err: @Sendable (String) -> Void
        /// Whether stdout is a terminal (colour, width, screen clearing during `watch`).
        package var isTerminal: Bool

        package init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void,
                     isTerminal: Bool) {
            self.out = out
            self.err = err
            self.isTerminal = isTerminal
        }

        package static let standard = Output(
            out: { writeLine(STDOUT_FILENO, $0) }, err: { writeLine(STDERR_FILENO, $0) },
            isTerminal: Terminal.isTTY(STDOUT_FILENO))

        private static func writeLine(_ fd: Int32, _ text: String) {
            var bytes = Array(text.utf8)
            bytes.append(UInt8(ascii: "\n"))
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    struct Options {
        var command: String?
        var json = false
        var socket: String?
        var database: String?
    }

    /// Parses the arguments after `console`; a bad one is a one-line reason.
    static func parse(_ arguments: [String]) throws(ConsoleCLIUsageError) -> Options {
        var options = Options()
        var index = 0
        func value(_ flag: String) throws(ConsoleCLIUsageError) -> String {
            index += 1
            guard index < arguments.count, !arguments[index].isEmpty else {
                throw ConsoleCLIUsageError(message: "\(flag) needs a value")
            }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "-c", "--command": options.command = try value(arguments[index])
            case "--json": options.json = true
            case "--socket": options.socket = try value("--socket")
            case "--db": options.database = try value("--db")
            default:
                throw ConsoleCLIUsageError(message: "unknown option '\(arguments[index])'")
            }
            index += 1
        }
        if options.socket != nil && options.database != nil {
            throw ConsoleCLIUsageError(message: "--socket and --db exclude each other (agent, or file offline)")
        }
        return options
    }

    /// Runs the console; returns the exit code.
    package static func run(
        _ arguments: [String], environment: [String: String], output: Output = .standard
    ) async -> Int32 {
        let options: Options
        do {
            options = try parse(arguments)
        } catch {
            output.err("kiewatch console: \(error.message)\nusage: \(usage)")
            return 2
        }
        var session = AdminProtocol.SessionOptions(
            format: options.json ? .json : .table,
            color: output.isTerminal && ColorPolicy.detect(isTTY: true, environment: environment).isEnabled,
            // Only a terminal has a width: into a pipe or a file, nothing is cut (`grep` and
            // `cat` get whole task ids and whole help lines).
            width: output.isTerminal ? (Terminal().columns() ?? 80) : nil)
        if !output.isTerminal { session.color = false }

        let backend: ConsoleBackend
        if let database = options.database {
            do {
                backend = .local(ConsoleCommands(reader: try StoreReader(path: database), clock: SystemClock(), actions: nil))
            } catch {
                let message = (error as? StoreError).map { ConsoleCommands.oneLine($0) } ?? "\(error)"
                output.err("kiewatch console: cannot open \(database) read-only: \(message)")
                return 1
            }
        } else {
            let path = options.socket ?? environment["KIEWATCH_ADMIN_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
                ?? AdminProtocol.defaultSocketPath
            backend = .remote(path)
        }

        if let command = options.command {
            return await runOne(command, backend: backend, session: session, output: output, interactive: false)
        }
        return await repl(backend: backend, session: session, output: output, environment: environment)
    }

    // MARK: One command

    /// Runs a line (`watch` included) and prints its answer; returns its exit code.
    static func runOne(
        _ line: String, backend: ConsoleBackend, session: AdminProtocol.SessionOptions, output: Output,
        interactive: Bool
    ) async -> Int32 {
        do {
            if let watch = try ConsoleWatch.parse(line) {
                return await ConsoleWatchLoop(watch: watch, backend: backend, session: session, output: output).run()
            }
        } catch {
            output.err("\(error.message)\nusage: \(error.usage)")
            return 1
        }
        let answer = await backend.execute(line, session: session)
        if !answer.output.isEmpty {
            if answer.status == .ok || interactive { output.out(answer.output) } else { output.err(answer.output) }
        }
        return answer.status == .ok ? 0 : 1
    }

    // MARK: Interactive

    static func repl(
        backend: ConsoleBackend, session: AdminProtocol.SessionOptions, output: Output, environment: [String: String]
    ) async -> Int32 {
        var session = session
        let completer = ConsoleCompleter(backend: backend)
        let reader = InteractiveReader(
            prompt: "kiewatch> ", historyPath: History.defaultPath(environment: environment),
            completer: { completer.candidates(before: $0) })
        if reader.isInteractive {
            output.out("kiewatch console: \(backend.description). `help` lists the commands, `quit` or Ctrl-D leaves.")
        }
        var last: Int32 = 0
        while let raw = reader.readLine() {
            let line = raw.trimmingBlanks
            if line.isEmpty { continue }
            if line.hasPrefix(".") {
                switch AdminProtocol.parseRequest(Array(line.utf8)) {
                case .directive(let directive): session.apply(directive)
                case .invalid(let message): output.out(message)
                case .command: break
                }
                continue
            }
            let name = line.split(separator: " ").first.map { $0.lowercased() } ?? ""
            if name == "quit" || name == "exit" { break }
            last = await runOne(line, backend: backend, session: session, output: output, interactive: true)
        }
        return reader.isInteractive ? 0 : last
    }
}

package struct ConsoleCLIUsageError: Error, Sendable {
    package var message: String
}

/// Where commands go: the agent's admin socket, or a database file opened read-only here.
enum ConsoleBackend: CustomStringConvertible {
    case remote(String)
    case local(ConsoleCommands)

    func execute(_ line: String, session: AdminProtocol.SessionOptions) async -> ConsoleAnswer {
        switch self {
        case .remote(let path):
            do {
                let response = try AdminClient(socketPath: path, options: session).execute(line)
                return ConsoleAnswer(status: response.status, output: response.text)
            } catch {
                return ConsoleAnswer(status: .error, output: error.message)
            }
        case .local(let commands):
            return await commands.execute(line, options: session)
        }
    }

    var description: String {
        switch self {
        case .remote(let path): return "agent at \(path)"
        case .local(let commands): return "\(commands.reader.path) (offline, read-only)"
        }
    }
}
