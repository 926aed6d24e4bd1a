#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KieWatchConsole
import KieWatchCore
import Synchronization

/// Set by the SIGINT handler while a `watch` runs; the only state a signal handler touches.
private let watchInterrupted = Atomic<Bool>(false)

/// `watch SECONDS COMMAND` on the client: runs the command, shows its answer (clearing the
/// screen first on a terminal), sleeps, and again, until Ctrl-C, which ends only the watch:
/// the prompt comes back, as in `watch(1)` inside a shell.
struct ConsoleWatchLoop {
    var watch: ConsoleWatch
    var backend: ConsoleBackend
    var session: AdminProtocol.SessionOptions
    var output: ConsoleCLI.Output
    /// For tests: stop after this many rounds instead of waiting for Ctrl-C.
    var maxRounds: Int = .max

    func run() async -> Int32 {
        watchInterrupted.store(false, ordering: .relaxed)
        var previous = sigaction()
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in watchInterrupted.store(true, ordering: .relaxed) }
        #else
        action.__sigaction_u.__sa_handler = { _ in watchInterrupted.store(true, ordering: .relaxed) }
        #endif
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, &previous)
        defer { sigaction(SIGINT, &previous, nil) }

        var status: Int32 = 0
        var round = 0
        while !watchInterrupted.load(ordering: .relaxed) && round < maxRounds {
            round += 1
            let answer = await backend.execute(watch.command, session: session)
            status = answer.status == .ok ? 0 : 1
            var text = ""
            if output.isTerminal { text += "\u{1B}[H\u{1B}[2J" }
            if session.format == .table {
                text += "every \(watch.seconds)s: \(watch.command)   \(HumanFormat.timestamp(ms: SystemClock().now()))"
                    + "   (Ctrl-C stops)\n"
            }
            output.out(text + answer.output)
            if round >= maxRounds { break }
            // Sleep in slices so Ctrl-C is noticed within 100 ms.
            var slept = 0
            while slept < watch.seconds * 1_000 && !watchInterrupted.load(ordering: .relaxed) {
                usleep(100_000)
                slept += 100
            }
        }
        return status
    }
}

/// Tab completion: command names first, then task ids after `task`/`sync` (asked of the
/// agent or the file with the hidden `_complete PREFIX`), and filter names after list commands.
final class ConsoleCompleter {
    let backend: ConsoleBackend

    init(backend: ConsoleBackend) {
        self.backend = backend
    }

    static let filters: [String: [String]] = [
        "tasks": ["model=", "state=", "since=", "limit="],
        "calls": ["model=", "endpoint=", "code=", "since=", "limit="],
        "webhooks": ["model=", "result=", "since=", "limit="],
        "stale": ["limit="], "relay": ["limit="],
    ]

    func candidates(before text: String) -> [String] {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let endsWithSpace = text.last == " "
        let current = endsWithSpace ? "" : (words.last ?? "")
        let position = endsWithSpace ? words.count : max(words.count - 1, 0)
        if position == 0 {
            return ConsoleCommandSpec.names.filter { $0.hasPrefix(current.lowercased()) }.map { $0 + " " }
        }
        let command = words[0].lowercased()
        if position == 1, command == "task" || command == "sync" {
            var ids = taskIDs(prefix: current)
            if command == "sync", "stale".hasPrefix(current) { ids.insert("stale", at: 0) }
            return ids.map { $0 + " " }
        }
        if position == 1, command == "help" {
            return ConsoleCommandSpec.all.map(\.name).filter { $0.hasPrefix(current) }.map { $0 + " " }
        }
        return (Self.filters[command] ?? []).filter { $0.hasPrefix(current) }
    }

    private func taskIDs(prefix: String) -> [String] {
        let line = ConsoleCommandSpec.completionCommand + " " + prefix
        switch backend {
        case .remote(let path):
            guard let response = try? AdminClient(socketPath: path, timeoutMillis: 2_000).execute(line),
                  response.status == .ok else { return [] }
            return response.lines.filter { !$0.isEmpty }
        case .local(let commands):
            guard let answer = commands.answerWithoutWaiting(line), answer.status == .ok else { return [] }
            return answer.output.split(separator: "\n").map(String.init)
        }
    }
}
