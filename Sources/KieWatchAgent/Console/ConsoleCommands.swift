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
        switch prepare(line, options) {
        case .answered(let answer):
            return answer
        case .needsAgent(let spec, let arguments, let context):
            do {
                return answer(try await runOnAgent(spec, arguments, context), spec: spec, context: context)
            } catch {
                return answer(error, spec: spec, context: context)
            }
        }
    }

    /// The answer when it needs no waiting on the agent (every command but the online `sync`,
    /// `replay` and relay actions), else nil. The admin server calls this on the client's own
    /// thread, so reads never occupy the agent's task executor; only those hop onto it.
    package func answerWithoutWaiting(
        _ line: String, options: AdminProtocol.SessionOptions = .init()
    ) -> ConsoleAnswer? {
        if case .answered(let answer) = prepare(line, options) { return answer }
        return nil
    }

    private enum Prepared {
        case answered(ConsoleAnswer)
        case needsAgent(ConsoleCommandSpec, ConsoleArguments, RenderContext)
    }

    private func prepare(_ line: String, _ options: AdminProtocol.SessionOptions) -> Prepared {
        let invocation = ConsoleInvocation(line: line)
        var session = options
        if invocation.json { session.format = .json }
        let context = RenderContext(options: session, now: clock.now())
        guard let name = invocation.name else { return .answered(ConsoleAnswer(status: .ok, output: "")) }
        guard let spec = ConsoleCommandSpec.named(name) else {
            let error = ConsoleCommandError(
                "unknown command '\(ConsoleText.clean(name))'", usage: "type `help` for the list of commands")
            return .answered(render(error, command: name, context: context))
        }
        if actions != nil, Self.needsAgent(spec, invocation.arguments) {
            return .needsAgent(spec, invocation.arguments, context)
        }
        do {
            return .answered(answer(try run(spec, invocation.arguments, context), spec: spec, context: context))
        } catch {
            return .answered(answer(error, spec: spec, context: context))
        }
    }

    private func answer(_ output: ConsoleOutput, spec: ConsoleCommandSpec, context: RenderContext) -> ConsoleAnswer {
        ConsoleAnswer(status: .ok, output: context.isJSON ? output.json.serialized() : output.text,
                      endsSession: spec.name == "quit")
    }

    /// Errors become answers here, in one place: one line and the usage, never a crash.
    private func answer(_ error: any Error, spec: ConsoleCommandSpec, context: RenderContext) -> ConsoleAnswer {
        switch error {
        case let error as ConsoleCommandError:
            return render(error.withUsage(error.usage ?? spec.usage), command: spec.name, context: context)
        case let error as StoreError:
            return render(ConsoleCommandError(Self.oneLine(error), usage: ""), command: spec.name, context: context)
        default:
            return render(ConsoleCommandError("\(spec.name) failed: \(error)"), command: spec.name, context: context)
        }
    }

    private func run(
        _ spec: ConsoleCommandSpec, _ arguments: ConsoleArguments, _ context: RenderContext
    ) throws -> ConsoleOutput {
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
        case "sync": return try offlineSync(arguments)
        case "relay": return try relay(arguments, context)
        case "replay": return try offlineReplay(arguments)
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
            if let usage = error.usage, !usage.isEmpty { members.append(("usage", .string(usage))) }
            return ConsoleAnswer(status: .error, output: JSONValue.object(members).serialized())
        }
        var text = error.message
        if let usage = error.usage, !usage.isEmpty { text += "\nusage: " + usage }
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
                + "or run `kiewatch console -c 'watch \(arguments.words.joined(separator: " "))'`",
            usage: "")
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
    /// nil: the command's own usage is shown; `""`: none (the message says it all).
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
