@testable import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

/// `kiewatch console` as the engineer runs it, through `ConsoleCLI.run` with captured output:
/// `-c` against a real in-process `AdminServer`, `--db` offline, usage errors.
struct ConsoleCLITests {
    final class Captured: Sendable {
        let lines = Mutex<(out: [String], err: [String])>(([], []))
        var output: ConsoleCLI.Output {
            ConsoleCLI.Output(out: { line in self.lines.withLock { $0.out.append(line) } },
                              err: { line in self.lines.withLock { $0.err.append(line) } }, isTerminal: false)
        }
        var out: String { lines.withLock { $0.out.joined(separator: "\n") } }
        var err: String { lines.withLock { $0.err.joined(separator: "\n") } }
    }

    @Test func commandAgainstTheAgent() async throws {
        let fixture = try await ConsoleFixture.make()
        let (server, directory) = try AdminServerTests.start(fixture)
        defer { server.stop(); directory.remove() }
        let ok = Captured()
        #expect(await ConsoleCLI.run(["--socket", server.path, "-c", "stale"], environment: [:], output: ok.output) == 0)
        #expect(ok.out.hasPrefix("TASK  MODEL  STATE"))
        #expect(!ok.out.contains("\u{1B}["), "no escape codes when stdout is not a terminal")

        let json = Captured()
        #expect(await ConsoleCLI.run(["-c", "tasks", "--json"], environment: ["KIEWATCH_ADMIN_SOCKET": server.path],
                                     output: json.output) == 0)
        #expect(try JSONValue.parse(json.out)["tasks"]?.arrayValue?.count == 5)

        let bad = Captured()
        #expect(await ConsoleCLI.run(["--socket", server.path, "-c", "tasks state=nope"], environment: [:],
                                     output: bad.output) == 1)
        #expect(bad.err.hasPrefix("unknown state 'nope'"))
        #expect(bad.out.isEmpty)
    }

    @Test func offlineDatabase() async throws {
        let fixture = try await ConsoleFixture.make()
        let models = Captured()
        // The real clock runs here, so a command that does not depend on "now".
        #expect(await ConsoleCLI.run(["--db", fixture.path, "-c", "task k1", "--json"], environment: [:],
                                     output: models.output) == 0)
        #expect(try JSONValue.parse(models.out)["task"]?["model"] == .string(kling))
        let sync = Captured()
        #expect(await ConsoleCLI.run(["--db", fixture.path, "-c", "sync stale"], environment: [:], output: sync.output) == 1)
        #expect(sync.err == "sync needs the running agent: start `kiewatch serve` or use its admin socket")
        let missing = Captured()
        #expect(await ConsoleCLI.run(["--db", "/nonexistent/kw.db", "-c", "status"], environment: [:],
                                     output: missing.output) == 1)
        #expect(missing.err.hasPrefix("kiewatch console: cannot open /nonexistent/kw.db read-only"))
    }

    @Test func usageErrorsAndAMissingAgent() async throws {
        let usage = Captured()
        #expect(await ConsoleCLI.run(["--socket", "a", "--db", "b"], environment: [:], output: usage.output) == 2)
        #expect(usage.err.hasPrefix("kiewatch console: --socket and --db exclude each other"))
        #expect(await ConsoleCLI.run(["-c"], environment: [:], output: Captured().output) == 2)
        let missing = Captured()
        #expect(await ConsoleCLI.run(["--socket", "/tmp/kw-nobody-here.sock", "-c", "status"], environment: [:],
                                     output: missing.output) == 1)
        #expect(missing.err.hasPrefix("cannot reach the agent at /tmp/kw-nobody-here.sock"))
        let watch = Captured()
        #expect(await ConsoleCLI.run(["--db", "x", "-c", "watch 0 stale"], environment: [:], output: watch.output) == 1)
    }

    /// `kiewatch console -c help | cat`, `-c missed > file`: stdout is no terminal, so no line
    /// is cut, however long (`ConsoleCLI` asks for no width; the agent renders whole cells).
    @Test func outputToAPipeIsNeverCut() async throws {
        let store = try await LongIDStore.make()
        let (server, directory) = try AdminServerTests.start(store.fixture)
        defer { server.stop(); directory.remove() }
        for command in ["help", "missed", "stale", "tasks"] {
            let captured = Captured()
            #expect(await ConsoleCLI.run(["--socket", server.path, "-c", command], environment: [:],
                                         output: captured.output) == 0)
            #expect(!captured.out.contains("…"), "\(command) was cut:\n\(captured.out)")
            if command != "help" {
                #expect(captured.out.contains(LongIDStore.model), "\(command):\n\(captured.out)")
                #expect(captured.out.contains(LongIDStore.taskID) || captured.out.contains(LongIDStore.staleID))
            }
        }
        let help = Captured()
        #expect(await ConsoleCLI.run(["--db", store.fixture.path, "-c", "help"], environment: [:], output: help.output) == 0)
        #expect(help.out.split(separator: "\n").contains { $0.count > 80 }, "help is wider than 80 columns")
        #expect(!help.out.contains("…"))
    }

    /// On a terminal the table fits its width, but the task id column never gives up a
    /// character: the other columns shrink first.
    @Test func onATerminalTaskIDsStayWholeAndOtherColumnsShrink() async throws {
        let store = try await LongIDStore.make()
        let commands = try store.fixture.commands()
        for command in ["missed", "stale", "tasks"] {
            let text = await commands.execute(command, options: AdminProtocol.SessionOptions(width: 60)).output
            let row = try #require(
                text.split(separator: "\n").first { $0.hasPrefix(LongIDStore.taskID) || $0.hasPrefix(LongIDStore.staleID) },
                "\(command):\n\(text)")
            #expect(row.hasPrefix(LongIDStore.taskID + "  ") || row.hasPrefix(LongIDStore.staleID + "  "))
            #expect(row.contains("…"), "the model column gave up space instead: \(row)")
        }
    }

    @Test func watchRepeatsTheCommand() async throws {
        let fixture = try await ConsoleFixture.make()
        let captured = Captured()
        let loop = ConsoleWatchLoop(
            watch: try #require(try ConsoleWatch.parse("watch 1 stale")),
            backend: .local(try fixture.commands()), session: .init(), output: captured.output, maxRounds: 2)
        #expect(await loop.run() == 0)
        let rounds = captured.lines.withLock { $0.out }
        #expect(rounds.count == 2)
        #expect(rounds.allSatisfy { $0.hasPrefix("every 1s: stale") && $0.contains("v1    veo3") })
        #expect(throws: ConsoleWatchError.self) { try ConsoleWatch.parse("watch 5 sync stale") }
    }

    @Test func completion() async throws {
        let fixture = try await ConsoleFixture.make()
        let completer = ConsoleCompleter(backend: .local(try fixture.commands()))
        #expect(completer.candidates(before: "st") == ["status ", "stale "])
        #expect(completer.candidates(before: "task v") == ["v1 ", "v2 ", "v3 "])
        #expect(completer.candidates(before: "sync s") == ["stale "])
        #expect(completer.candidates(before: "tasks st") == ["state="])
    }
}

/// A store with a missed (recovered) task and a stale one, whose ids are as long as Kie's and
/// whose model name is long, at the fixture's `now`.
struct LongIDStore {
    static let taskID = "281e5b0a9f2c4d7e8b1a6c3f5e9d0b47"
    static let staleID = "93c1f0d2b8a74e65a0d9c7b3e1f24a68"
    static let model = "kling-2.6/image-to-video-pro-extended"
    let fixture: ConsoleFixture

    static func make() async throws -> LongIDStore {
        let database = try TemporaryDatabase()
        var configuration = StoreConfiguration()
        configuration.clock = TestClock(now)
        let writer = try StoreWriter(path: database.path, configuration: configuration)
        try await writer.write { ctx in
            try ctx.save(TaskRecord(
                taskID: taskID, family: .market, model: model, state: .success, createdAt: now - 30 * minute,
                updatedAt: now - 5 * minute, completedAt: now - 20 * minute, finishedAt: now - 5 * minute,
                callbackURL: appURL, expectsCallback: true, deadlineAt: now - 15 * minute,
                recoveredAt: now - 5 * minute, recoveryAttempts: 1, resultSource: .recovery, missed: true))
            try ctx.insert(RecoveryRecord(ts: now - 5 * minute, taskID: taskID, model: model, result: .recovered,
                                          detail: "success"))
            try ctx.save(TaskRecord(
                taskID: staleID, family: .market, model: model, state: .generating, createdAt: now - 40 * minute,
                callbackURL: appURL, expectsCallback: true, deadlineAt: now - 10 * minute))
        }
        await writer.close()
        return LongIDStore(fixture: ConsoleFixture(database: database))
    }
}
