@testable import KieWatchAgent
import KieWatchConsole
import KieWatchCore
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
