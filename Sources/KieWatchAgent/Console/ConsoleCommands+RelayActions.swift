import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// One on-call action on the relay, as typed after `relay`.
enum RelayAction: Equatable {
    /// `relay retry ID` (also `#ID`).
    case retryOne(Int64)
    /// `relay retry gave_up [since=WINDOW] [model=M] [--yes]`.
    case retryGivenUp(windowMillis: Int64?, model: String?, confirmed: Bool)
    /// `relay pause [DURATION]`.
    case pause(millis: Int64?)
    /// `relay resume`.
    case resume

    /// The longest timed pause (a longer hold is `relay pause` without a duration).
    static let maxPauseMillis: Int64 = 30 * 86_400_000

    /// The action in a `relay` command line, nil for the plain listing (`relay [limit=N]`).
    /// A bad one is refused with the usage of its form.
    init?(_ arguments: ConsoleArguments) throws {
        guard let verb = arguments.positional.first?.lowercased() else { return nil }
        do {
            try self.init(verb: verb, arguments)
        } catch let error as ConsoleCommandError where error.usage == nil {
            var form = "relay \(verb)"
            if arguments.positional.dropFirst().first?.lowercased() == "gave_up" { form += " gave_up" }
            throw error.withUsage(ConsoleCommandSpec.named("relay")?.usage(of: form))
        }
    }

    private init(verb: String, _ arguments: ConsoleArguments) throws {
        let words = arguments.positional
        let confirmed = words.contains("--yes")
        let rest = words.dropFirst().filter { $0 != "--yes" }
        if confirmed, verb != "retry" { throw ConsoleCommandError("--yes is only for `relay retry gave_up`") }
        switch verb {
        case "retry":
            guard let what = rest.first else {
                throw ConsoleCommandError("relay retry needs a relay id (the ID column of `relay`) or gave_up")
            }
            if let extra = rest.dropFirst().first {
                throw ConsoleCommandError("unexpected argument '\(ConsoleText.clean(extra))'")
            }
            if what.lowercased() == "gave_up" {
                let filters = try arguments.filters(allowed: ["since", "model"])
                let window = try filters["since"].map { try ConsoleArguments.window($0, default: 0) }
                self = .retryGivenUp(windowMillis: window, model: filters["model"], confirmed: confirmed)
                return
            }
            _ = try arguments.filters(allowed: [])
            let digits = what.hasPrefix("#") ? String(what.dropFirst()) : what
            guard let id = Int64(digits), id > 0 else {
                throw ConsoleCommandError(
                    "'\(ConsoleText.clean(what))' is not a relay id: use a number from the ID column of `relay`, or gave_up")
            }
            self = .retryOne(id)
        case "pause":
            _ = try arguments.filters(allowed: [])
            if let extra = rest.dropFirst().first {
                throw ConsoleCommandError("unexpected argument '\(ConsoleText.clean(extra))'")
            }
            guard let text = rest.first else {
                self = .pause(millis: nil)
                return
            }
            switch DurationText.read(text) {
            case .millis(let ms) where ms > 0 && ms <= Self.maxPauseMillis:
                self = .pause(millis: ms)
            case .millis(let ms) where ms > 0:
                throw Self.pauseTooLong
            case .tooLong:
                throw Self.pauseTooLong
            default:
                throw ConsoleCommandError(
                    "'\(ConsoleText.clean(text))' is not a duration: use e.g. 15m or 2h, or none to pause until `relay resume`")
            }
        case "resume":
            _ = try arguments.filters(allowed: [])
            if let extra = rest.first { throw ConsoleCommandError("unexpected argument '\(ConsoleText.clean(extra))'") }
            self = .resume
        default:
            throw ConsoleCommandError("unknown relay action '\(ConsoleText.clean(verb))' (retry, pause, resume)")
        }
    }

    private static let pauseTooLong = ConsoleCommandError(
        "a timed pause can be at most \(DurationText.format(millis: maxPauseMillis)): "
            + "`relay pause` without a duration holds until `relay resume`")

    /// How the action reads in an answer and in JSON's `command`.
    var command: String {
        switch self {
        case .retryOne, .retryGivenUp: "relay retry"
        case .pause: "relay pause"
        case .resume: "relay resume"
        }
    }
}

/// The commands that act on the relay through the live agent: `replay TASK`, `relay retry`,
/// `relay pause`, `relay resume`. Offline (`--db`) their arguments are checked, then they
/// say they need the agent: a database file opened read-only cannot act.
extension ConsoleCommands {
    /// Whether a command line needs the live agent (and so waits on it).
    static func needsAgent(_ spec: ConsoleCommandSpec, _ arguments: ConsoleArguments) -> Bool {
        switch spec.name {
        case "sync", "replay": return true
        case "relay": return (try? RelayAction(arguments)) != nil
        default: return false
        }
    }

    /// Runs a command that needs the live agent.
    func runOnAgent(
        _ spec: ConsoleCommandSpec, _ arguments: ConsoleArguments, _ context: RenderContext
    ) async throws -> ConsoleOutput {
        switch spec.name {
        case "sync": return try await sync(arguments, context)
        case "replay": return try await replay(arguments, context)
        case "relay":
            guard let action = try RelayAction(arguments) else { return try relay(arguments, context) }
            return try await relay(action, context)
        default:
            preconditionFailure("command '\(spec.name)' does not need the agent")
        }
    }

    static func needsAgentMessage(_ command: String) -> String {
        "\(command) needs the running agent: start `kiewatch serve` or use its admin socket"
    }

    // MARK: replay

    /// `replay` without an agent: the arguments are checked, then the one-line refusal.
    func offlineReplay(_ arguments: ConsoleArguments) throws -> ConsoleOutput {
        _ = try Self.replayTarget(arguments)
        throw ConsoleCommandError(Self.needsAgentMessage("replay"), usage: "")
    }

    private static func replayTarget(_ arguments: ConsoleArguments) throws -> String {
        guard arguments.words.count == 1, let id = arguments.words.first, !id.contains("=") else {
            throw ConsoleCommandError(arguments.words.isEmpty ? "replay needs a task id" : "replay takes exactly one task id")
        }
        return id
    }

    func replay(_ arguments: ConsoleArguments, _ context: RenderContext) async throws -> ConsoleOutput {
        let taskID = try Self.replayTarget(arguments)
        guard let actions else { throw ConsoleCommandError(Self.needsAgentMessage("replay"), usage: "") }
        let report = try await actions.replay(taskID: taskID)
        let task = "task \(ConsoleText.clean(taskID))"
        let text: String
        switch report.result {
        case .queued:
            let from = report.source == .statusPoll
                ? "no callback was ever received: built from a status poll now" : "the last callback Kie sent"
            text = "queued relay #\(report.outboxID ?? 0) for \(task): \(from); it goes out with "
                + "\(ReplayReport.header): true. `task \(ConsoleText.clean(taskID))` shows its delivery"
        case .alreadyPending:
            text = "\(task) already has relay #\(report.outboxID ?? 0) pending: not queued a second time"
        case .unknownTask:
            throw ConsoleCommandError("no task '\(ConsoleText.clean(taskID))' in the store (unknown id, or older than the retention)", usage: "")
        case .noCallbackURL:
            throw ConsoleCommandError("\(task) has no callback URL (the app polls it): there is nothing to replay to", usage: "")
        case .notFinished:
            throw ConsoleCommandError(
                "\(task) has not finished (\(report.detail ?? "open")): `sync \(ConsoleText.clean(taskID))` polls Kie "
                    + "and relays its result when it is done", usage: "")
        case .stillRunning:
            throw ConsoleCommandError(
                "no callback was received for \(task) and Kie says it is still running (\(report.detail ?? "")): nothing to replay yet",
                usage: "")
        case .notFound:
            throw ConsoleCommandError("no callback was received for \(task) and Kie has no such task: nothing to replay", usage: "")
        case .recoveryOff:
            throw ConsoleCommandError("no callback was received for \(task), and KIE_API_KEY is not set: "
                + "the agent cannot ask Kie for the result", usage: "")
        case .error:
            throw ConsoleCommandError(
                "replay \(ConsoleText.clean(taskID)): the status poll failed: \(ConsoleText.url(report.detail ?? "unknown error"))",
                usage: "")
        }
        return ConsoleOutput(
            json: ["command": "replay", "task_id": .string(taskID), "model": JSONValue(report.model),
                   "result": .string(report.result.rawValue), "source": JSONValue(report.source?.rawValue),
                   "relay_id": JSONValue(report.outboxID)],
            text: text)
    }

    // MARK: relay retry, pause, resume

    /// A relay action without an agent: the arguments were checked, then the one-line refusal.
    func offlineRelay(_ action: RelayAction) throws -> ConsoleOutput {
        throw ConsoleCommandError(Self.needsAgentMessage(action.command), usage: "")
    }

    func relay(_ action: RelayAction, _ context: RenderContext) async throws -> ConsoleOutput {
        guard let actions else { return try offlineRelay(action) }
        switch action {
        case .retryOne(let id):
            return try Self.render(try await actions.retryRelay(id: id))
        case .retryGivenUp(let window, let model, let confirmed):
            return try Self.render(
                try await actions.retryGivenUpRelays(withinMillis: window, model: model, confirmed: confirmed))
        case .pause(let millis):
            return Self.render(try await actions.pauseRelay(forMillis: millis), command: action.command, now: context.now)
        case .resume:
            return Self.render(try await actions.resumeRelay(), command: action.command, now: context.now)
        }
    }

    private static func render(_ report: RelayRetryReport) throws -> ConsoleOutput {
        let relay = report.target.replacingOccurrences(of: "relay retry ", with: "relay ")
        let task = report.taskID.map { " (task \(ConsoleText.clean($0)))" } ?? ""
        let text: String
        switch report.result {
        case .retried where report.taskID != nil:
            text = "\(relay)\(task) is back in the outbox, due now with a new give-up window"
        case .retried:
            text = report.retried == 0
                ? "no given-up relay to put back (\(ConsoleText.plural(Int64(report.givenUp), "given-up relay")) matched)"
                : "put \(ConsoleText.plural(Int64(report.retried), "given-up relay")) back in the outbox "
                    + "(\(report.givenUp) matched); they go out now, `relay` shows them"
        case .preview:
            var lines = ["\(ConsoleText.clean(report.target)): \(ConsoleText.plural(Int64(report.givenUp), "given-up relay")) "
                + "match, \(report.retried) would be put back in the outbox"]
            if report.givenUp > report.retried {
                lines.append("(\(report.givenUp - report.retried) not: a newer relay of the same task is pending, "
                    + "delivered or given up too)")
            }
            lines.append(report.retried == 0 ? "nothing to do" : "nothing done yet: add --yes to put them back")
            text = lines.joined(separator: "\n")
        case .alreadyPending:
            text = "\(relay)\(task) is already pending: nothing to retry"
        case .taskHasPending:
            text = "\(relay)\(task) not put back: the task has relay #\(report.pendingID ?? 0) pending (no second copy)"
        case .delivered:
            throw ConsoleCommandError(
                "\(relay)\(task) was delivered: `replay \(ConsoleText.clean(report.taskID ?? "TASK"))` sends its result again",
                usage: "")
        case .unknownRelay:
            throw ConsoleCommandError("no \(relay) in the outbox (see `relay` for the ids)", usage: "")
        }
        return ConsoleOutput(
            json: ["command": "relay retry", "target": .string(report.target), "result": .string(report.result.rawValue),
                   "given_up": .int(Int64(report.givenUp)), "retried": .int(Int64(report.retried)),
                   "task_id": JSONValue(report.taskID), "pending_id": JSONValue(report.pendingID),
                   "confirm_with": report.result == .preview && report.retried > 0 ? "--yes" : .null],
            text: text)
    }

    private static func render(_ report: RelayPauseReport, command: String, now: EpochMillis) -> ConsoleOutput {
        let text: String
        if report.paused {
            let until = report.until.map { "until \(HumanFormat.timestamp(ms: $0)) (\(HumanFormat.age(of: $0, now: now)))" }
                ?? "until `relay resume`"
            text = "relay paused \(until): deliveries are held, \(ConsoleText.plural(Int64(report.pending), "pending relay")) "
                + "waiting; new ones keep queueing and no give-up clock runs meanwhile"
        } else if report.changed {
            text = "relay resumed: sending \(ConsoleText.plural(Int64(report.pending), "pending relay")) now"
        } else {
            text = "the relay was not paused: nothing to resume"
        }
        return ConsoleOutput(
            json: ["command": .string(command), "paused": .bool(report.paused), "paused_since": JSONValue(report.since),
                   "paused_until": JSONValue(report.until), "pending": .int(Int64(report.pending)),
                   "changed": .bool(report.changed)],
            text: text)
    }
}
