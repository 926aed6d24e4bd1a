/// One console command as the engineer sees it: name, usage, what it answers, an example.
///
/// The single catalogue behind `help`, the usage line of every error, and Tab completion,
/// so the three never disagree about what exists.
package struct ConsoleCommandSpec: Sendable, Equatable {
    package var name: String
    package var aliases: [String]
    package var usage: String
    package var summary: String
    package var example: String
    /// Further forms of the command (`relay retry ...`), each with its own usage line in `help`.
    package var more: [Form]

    /// One form of a command: `help` shows a row for each.
    package struct Form: Sendable, Equatable {
        package var usage: String
        package var summary: String
        package var example: String
    }

    /// The command's forms, its main one first.
    package var forms: [Form] { [Form(usage: usage, summary: summary, example: example)] + more }

    /// The usage of the form that starts with `words` (`relay pause`), else the main one.
    package func usage(of words: String) -> String {
        more.first { $0.usage.hasPrefix(words) }?.usage ?? usage
    }

    /// The hidden request the interactive console sends for Tab completion of task ids.
    package static let completionCommand = "_complete"

    package static let all: [ConsoleCommandSpec] = [
        .init("help", usage: "help [COMMAND]", summary: "commands, or one command's usage", example: "help tasks"),
        .init("status", usage: "status", summary: "agent, upstream, store, in-flight, stale, relay, credits",
              example: "status"),
        .init("models", usage: "models [WINDOW]",
              summary: "per model: calls, tasks, success/fail %, latencies, webhook delay, missed, deadline",
              example: "models 24h"),
        .init("tasks", usage: "tasks [model=M] [state=S|open] [since=WINDOW] [limit=N]",
              summary: "recent tasks, newest first", example: "tasks model=veo3 state=fail since=6h"),
        .init("task", usage: "task ID", summary: "one task's timeline: create, polls, callbacks, recoveries, relays",
              example: "task 7f3c9e2a"),
        .init("stale", usage: "stale [limit=N]", summary: "tasks past their deadline without a callback",
              example: "stale"),
        .init("missed", usage: "missed [WINDOW]", summary: "webhooks that never came (found by recovery polls)",
              example: "missed 24h"),
        .init("errors", usage: "errors [WINDOW]",
              summary: "failed API calls by code with the fix; webhook auth failures", example: "errors 1h"),
        .init("calls", usage: "calls [model=M] [endpoint=E] [code=C] [since=WINDOW] [limit=N]",
              summary: "recent API calls, newest first", example: "calls code=429 since=15m"),
        .init("webhooks", usage: "webhooks [model=M] [result=R] [since=WINDOW] [limit=N]",
              summary: "recent webhook deliveries, newest first", example: "webhooks result=unauthorized"),
        .init("sync", usage: "sync ID | sync stale [limit=N]",
              summary: "poll Kie now for one task or every stale task (needs the agent)", example: "sync stale"),
        .init("relay", usage: "relay [limit=N]",
              summary: "relay outbox: pending callbacks to the app, attempts, give-ups, pause, circuit breakers",
              example: "relay",
              more: [
                  .init(usage: "relay retry ID", summary: "put one given-up relay back in the outbox (needs the agent)",
                        example: "relay retry 42"),
                  .init(usage: "relay retry gave_up [since=WINDOW] [model=M] [--yes]",
                        summary: "count the given-up relays; with --yes put them back, one per task",
                        example: "relay retry gave_up since=24h --yes"),
                  .init(usage: "relay pause [DURATION]",
                        summary: "hold every delivery (they queue, give-up clocks stop) for DURATION or until resumed",
                        example: "relay pause 15m"),
                  .init(usage: "relay resume", summary: "deliver again: what the pause held goes out now",
                        example: "relay resume"),
              ]),
        .init("replay", usage: "replay TASK",
              summary: "send a task's final result to the app again (X-KieWatch-Replayed: true; needs the agent)",
              example: "replay 7f3c9e2a"),
        .init("credits", usage: "credits [WINDOW]", summary: "credits left and consumed per model",
              example: "credits 24h"),
        .init("sql", usage: "sql SELECT ...", summary: "read-only SQL on the store (2 s, 1000 rows)",
              example: "sql SELECT model, count(*) FROM tasks GROUP BY model"),
        .init("watch", usage: "watch SECONDS COMMAND", summary: "re-run a command every SECONDS until Ctrl-C",
              example: "watch 5 stale"),
        .init("quit", aliases: ["exit"], usage: "quit", summary: "leave the console (also exit, Ctrl-D)",
              example: "quit"),
    ]

    /// The spec for a typed name or alias (the hidden completion request included).
    package static func named(_ name: String) -> ConsoleCommandSpec? {
        if name == completionCommand {
            return .init(completionCommand, usage: "_complete PREFIX", summary: "", example: "")
        }
        return all.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// Every name and alias, for completion.
    package static var names: [String] { all.flatMap { [$0.name] + $0.aliases } }

    init(_ name: String, aliases: [String] = [], usage: String, summary: String, example: String, more: [Form] = []) {
        self.name = name
        self.aliases = aliases
        self.usage = usage
        self.summary = summary
        self.example = example
        self.more = more
    }
}

/// `watch SECONDS COMMAND`, parsed: the client re-runs `command` every `seconds`.
package struct ConsoleWatch: Sendable, Equatable {
    package var seconds: Int
    package var command: String

    /// From the words after `watch`.
    init(arguments words: [String]) throws {
        guard let first = words.first, let seconds = Int(first), (1...3_600).contains(seconds) else {
            throw ConsoleCommandError("watch needs a number of seconds from 1 to 3600, then a command")
        }
        let command = words.dropFirst().joined(separator: " ")
        guard let name = command.split(separator: " ").first.map({ $0.lowercased() }) else {
            throw ConsoleCommandError("watch needs a command to repeat")
        }
        guard ConsoleCommandSpec.named(name) != nil else {
            throw ConsoleCommandError("watch: unknown command '\(name)'")
        }
        guard !["watch", "quit", "exit", "sync", "replay"].contains(name) else {
            throw ConsoleCommandError("watch cannot repeat '\(name)'")
        }
        // `relay` is a listing; `relay retry|pause|resume` are actions, never repeated.
        if name == "relay", let verb = command.split(separator: " ").dropFirst().first?.lowercased(),
            ["retry", "pause", "resume"].contains(verb)
        {
            throw ConsoleCommandError("watch cannot repeat 'relay \(verb)'")
        }
        self.seconds = seconds
        self.command = command
    }

    /// The watch in a full command line, nil when the line is not a `watch`; throws the
    /// one-line reason when it is one but malformed.
    package static func parse(_ line: String) throws(ConsoleWatchError) -> ConsoleWatch? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.first?.lowercased() == "watch" else { return nil }
        do {
            return try ConsoleWatch(arguments: Array(words.dropFirst()))
        } catch let error as ConsoleCommandError {
            throw ConsoleWatchError(message: error.message, usage: "watch SECONDS COMMAND")
        } catch {
            throw ConsoleWatchError(message: "\(error)", usage: "watch SECONDS COMMAND")
        }
    }
}

/// Why a `watch` line cannot run.
package struct ConsoleWatchError: Error, Sendable, Equatable {
    package var message: String
    package var usage: String
}
