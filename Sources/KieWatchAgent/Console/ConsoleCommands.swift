import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The console's command language: one command line in, one answer out, the same over the
/// admin socket, `kiewatch console -c` and offline `--db`.
///
/// Pure over its inputs: a read-only `StoreReader` (what happened), an injected clock (what
/// "the last hour" means, so tests pin time) and, when the agent runs, its `AgentActions`
/// (what only a live process knows or can do: uptime, deadlines, `sync`). Offline it is
/// given `nil` and every command that needs the agent says so instead of guessing.
///
/// Every answer is either an aligned table fitted to the session's width or one line of
/// stable JSON (`--json` on the command, or the session's `.format json`); every failure is
/// one line saying what is wrong plus the command's usage. Nothing a command does can crash
/// the agent: bad input, store errors and refused SQL all become `error` answers.
///
/// Not Sendable: it owns its reader's connection. One per console session.
package final class ConsoleCommands {
    let reader: StoreReader
    let clock: any WallClock
    let actions: (any AgentActions)?
    let queries: ConsoleQueries

    package init(reader: StoreReader, clock: any WallClock, actions: (any AgentActions)?) {
        self.reader = reader
        self.clock = clock
        self.actions = actions
        self.queries = ConsoleQueries(reader: reader)
    }

    /// Runs one command line with the session's options.
    package func execute(
        _ line: String, options: AdminProtocol.SessionOptions = .init()
    ) async -> ConsoleAnswer {
        let invocation = ConsoleInvocation(line: line)
        var session = options
        if invocation.json { session.format = .json }
        let context = RenderContext(options: session, now: clock.now())
        guard let name = invocation.name else { return ConsoleAnswer(status: .ok, output: "") }
        guard let spec = ConsoleCommandSpec.named(name) else {
            let error = ConsoleCommandError(
                "unknown command '\(name)'", usage: "type `help` for the list of commands")
            return render(error, command: name, context: context)
        }
        do {
            let output = try await run(spec, invocation.arguments, context)
            return ConsoleAnswer(
                status: .ok, output: context.isJSON ? output.json.serialized() : output.text,
                endsSession: spec.name == "quit")
        } catch let error as ConsoleCommandError {
            return render(error.withUsage(error.usage ?? spec.usage), command: spec.name, context: context)
        } catch let error as StoreError {
            return render(ConsoleCommandError(Self.oneLine(error)), command: spec.name, context: context)
        } catch {
            return render(ConsoleCommandError("\(spec.name) failed: \(error)"), command: spec.name, context: context)
        }
    }

    private func run(
        _ spec: ConsoleCommandSpec, _ arguments: ConsoleArguments, _ context: RenderContext
    ) async throws -> ConsoleOutput {
        switch spec.name {
        case "help": return try help(arguments, context)
        case "status": return try status(arguments, context)
        case "models": return try models(arguments, context)
        case "tasks": return try tasks(arguments, context)
        case "task": return try task(arguments, context)
        case "stale": return try stale(arguments, context)
        case "missed": return try missed(arguments, context)
        case "errors": return try errors(arguments, context)
        case "calls": return try calls(arguments, context)
        case "webhooks": return try webhooks(arguments, context)
        case "sync": return try await sync(arguments, context)
        case "relay": return try relay(arguments, context)
        case "credits": return try credits(arguments, context)
        case "sql": return try sql(arguments, context)
        case "watch": return try watch(arguments)
        case "quit": return quit(arguments, context)
        case ConsoleCommandSpec.completionCommand: return try complete(arguments, context)
        default:
            preconditionFailure("command '\(spec.name)' is in the catalogue but has no implementation")
        }
    }

    /// An error answer: one line (plus the usage line) as text, or one JSON object.
    private func render(_ error: ConsoleCommandError, command: String, context: RenderContext) -> ConsoleAnswer {
        if context.isJSON {
            var members: [(key: String, value: JSONValue)] = [("command", .string(command)), ("error", .string(error.message))]
            if let usage = error.usage { members.append(("usage", .string(usage))) }
            return ConsoleAnswer(status: .error, output: JSONValue.object(members).serialized())
        }
        var text = error.message
        if let usage = error.usage { text += "\nusage: " + usage }
        return ConsoleAnswer(status: .error, output: text)
    }

    /// A store error as one line for the engineer: its message without the SQL behind it.
    static func oneLine(_ error: StoreError) -> String {
        switch error.kind {
        case .refused, .timeLimit: return error.message
        default: return "store error: " + error.message
        }
    }

    // MARK: quit, watch

    private func quit(_ arguments: ConsoleArguments, _ context: RenderContext) -> ConsoleOutput {
        ConsoleOutput(json: ["command": "quit"], text: "")
    }

    /// `watch` repeats a command on the client: an agent that re-ran commands on a timer
    /// would need a way to be told to stop that a plain socket client does not have.
    private func watch(_ arguments: ConsoleArguments) throws -> ConsoleOutput {
        _ = try ConsoleWatch(arguments: arguments.words)
        throw ConsoleCommandError(
            "watch runs in the console, not in the agent: type it at the kiewatch> prompt, "
                + "or run `kiewatch console -c '\(arguments.words.joined(separator: " "))'`",
            usage: nil)
    }
}

/// One answer of the command language.
package struct ConsoleAnswer: Sendable, Equatable {
    package var status: AdminProtocol.Status
    /// The text to show (lines joined by `\n`, no trailing newline), or one line of JSON.
    package var output: String
    /// `quit`/`exit`: the session should end after this answer.
    package var endsSession: Bool

    package init(status: AdminProtocol.Status, output: String, endsSession: Bool = false) {
        self.status = status
        self.output = output
        self.endsSession = endsSession
    }
}

/// What a command produced, in both forms; `execute` keeps the one the session asked for.
struct ConsoleOutput {
    var json: JSONValue
    var text: String
}

/// A command's refusal: what is wrong, and the usage line to show with it.
struct ConsoleCommandError: Error {
    var message: String
    var usage: String?

    init(_ message: String, usage: String? = nil) {
        self.message = message
        self.usage = usage
    }

    func withUsage(_ usage: String?) -> ConsoleCommandError {
        var copy = self
        copy.usage = usage
        return copy
    }
}

/// The session options and the one "now" a command renders with.
struct RenderContext {
    var options: AdminProtocol.SessionOptions
    var now: EpochMillis

    var isJSON: Bool { options.format == .json }
    var color: ColorPolicy { ColorPolicy(enabled: options.color) }

    func render(_ table: TableRenderer) -> String {
        table.render(width: options.width, color: color)
    }
}
