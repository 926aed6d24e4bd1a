@testable import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import Testing

/// The console's side of the on-call actions (`replay`, `relay retry|pause|resume`): help,
/// parsing (bad input is one line with its form's usage, before the agent is asked), what
/// reaches the agent, and the refusal offline. Their effect on a live agent is in the agent
/// tests (`RelayActionTests`).
struct ConsoleRelayActionsTests {
    @Test func helpDocumentsEveryActionWithAnExample() async throws {
        let fixture = try await ConsoleFixture.make()
        let help = await (try fixture.commands()).execute("help", options: AdminProtocol.SessionOptions(width: 1_000))
        for form in ConsoleCommandSpec.all.flatMap(\.forms) {
            #expect(help.output.contains(form.usage) && help.output.contains(form.example), "\(form.usage)")
        }
        for usage in ["replay TASK", "relay retry ID", "relay retry gave_up [since=WINDOW] [model=M] [--yes]",
                      "relay pause [DURATION]", "relay resume"] {
            #expect(help.output.contains(usage))
        }
        let relay = await (try fixture.commands()).execute("help relay")
        #expect(relay.output.contains("usage: relay pause [DURATION]\nhold every delivery"))
        let json = try JSONValue.parse(await (try fixture.commands()).execute("help relay --json").output)
        #expect(json["commands"]?.arrayValue?.first?["forms"]?.arrayValue?.count == 4)
    }

    @Test(arguments: [
        ("relay retry", "relay retry needs a relay id (the ID column of `relay`) or gave_up\nusage: relay retry ID"),
        ("relay retry abc", "'abc' is not a relay id: use a number from the ID column of `relay`, or gave_up\nusage: relay retry ID"),
        ("relay retry 99999999999999999999999", "'99999999999999999999999' is not a relay id: use a number from the ID column of `relay`, or gave_up\nusage: relay retry ID"),
        ("relay retry -3", "'-3' is not a relay id: use a number from the ID column of `relay`, or gave_up\nusage: relay retry ID"),
        ("relay retry 1 2", "unexpected argument '2'\nusage: relay retry ID"),
        ("relay retry 1 model=x", "unknown filter 'model'\nusage: relay retry ID"),
        ("relay retry gave_up since=forever", "'forever' is not a window: use a duration such as 15m, 1h or 24h\nusage: relay retry gave_up [since=WINDOW] [model=M] [--yes]"),
        ("relay retry gave_up since=99999999999999999999d", "window '99999999999999999999d' is longer than 90d\nusage: relay retry gave_up [since=WINDOW] [model=M] [--yes]"),
        ("relay retry gave_up colour=red", "unknown filter 'colour' (known: since, model)\nusage: relay retry gave_up [since=WINDOW] [model=M] [--yes]"),
        ("relay pause -5m", "'-5m' is not a duration: use e.g. 15m or 2h, or none to pause until `relay resume`\nusage: relay pause [DURATION]"),
        ("relay pause 0s", "'0s' is not a duration: use e.g. 15m or 2h, or none to pause until `relay resume`\nusage: relay pause [DURATION]"),
        ("relay pause 31d", "a timed pause can be at most 30d: `relay pause` without a duration holds until `relay resume`\nusage: relay pause [DURATION]"),
        ("relay pause 9999999999999999999999d", "a timed pause can be at most 30d: `relay pause` without a duration holds until `relay resume`\nusage: relay pause [DURATION]"),
        ("relay pause 5m 10m", "unexpected argument '10m'\nusage: relay pause [DURATION]"),
        ("relay pause 5m --yes", "--yes is only for `relay retry gave_up`\nusage: relay pause [DURATION]"),
        ("relay resume now", "unexpected argument 'now'\nusage: relay resume"),
        ("relay bogus", "unknown relay action 'bogus' (retry, pause, resume)\nusage: relay [limit=N]"),
        ("replay", "replay needs a task id\nusage: replay TASK"),
        ("replay a b", "replay takes exactly one task id\nusage: replay TASK"),
    ])
    func badInputIsOneLineWithItsUsageAndNeverReachesTheAgent(line: String, expected: String) async throws {
        let fixture = try await ConsoleFixture.make()
        let actions = FakeAgentActions()
        for commands in [try fixture.commands(actions: actions), try fixture.commands()] {
            let answer = await commands.execute(line)
            #expect(answer.status == .error)
            #expect(answer.output == expected)
        }
        #expect(actions.relayActions.withLock { $0 }.isEmpty)
    }

    @Test func actionsReachTheAgentAsTyped() async throws {
        let fixture = try await ConsoleFixture.make()
        let actions = FakeAgentActions()
        let commands = try fixture.commands(actions: actions)
        let lines = ["relay retry #42", "relay retry 7", "relay retry gave_up", "relay retry gave_up since=24h model=veo3 --yes",
                     "relay pause 15m", "relay pause", "relay resume", "replay v2"]
        var outputs: [String] = []
        for line in lines {
            let answer = await commands.execute(line, options: AdminProtocol.SessionOptions(width: nil))
            #expect(answer.status == .ok, "\(line): \(answer.output)")
            outputs.append(answer.output)
        }
        #expect(actions.relayActions.withLock { $0 } == [
            "retry #42", "retry #7", "retry gave_up - - false", "retry gave_up 86400000 veo3 true", "pause 900000",
            "pause -", "resume", "replay v2",
        ])
        #expect(outputs[0] == "relay #42 (task v2) is back in the outbox, due now with a new give-up window")
        #expect(outputs[2] == """
            relay retry gave_up: 3 given-up relays match, 2 would be put back in the outbox
            (1 not: a newer relay of the same task is pending, delivered or given up too)
            nothing done yet: add --yes to put them back
            """)
        #expect(outputs[3] == "put 2 given-up relays back in the outbox (3 matched); they go out now, `relay` shows them")
        #expect(outputs[4].hasPrefix("relay paused until 2026-01-01 00:15:00Z"))
        #expect(outputs[6] == "relay resumed: sending 1 pending relay now")
        #expect(outputs[7].hasPrefix("queued relay #9 for task v2: the last callback Kie sent"))

        let preview = try JSONValue.parse(await commands.execute("relay retry gave_up --json").output)
        #expect(preview["result"] == "preview" && preview["retried"] == 2 && preview["confirm_with"] == "--yes")
        let replay = try JSONValue.parse(await commands.execute("replay v2 --json").output)
        #expect(replay == ["command": "replay", "task_id": "v2", "model": "veo3", "result": "queued", "source": "callback",
                           "relay_id": 9])
    }

    @Test func offlineEveryActionSaysItNeedsTheAgent() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        for (line, command) in [("replay v2", "replay"), ("relay retry 1", "relay retry"),
                                ("relay retry gave_up --yes", "relay retry"), ("relay pause 5m", "relay pause"),
                                ("relay resume", "relay resume")] {
            let answer = await commands.execute(line)
            #expect(answer.status == .error)
            #expect(answer.output == "\(command) needs the running agent: start `kiewatch serve` or use its admin socket")
        }
        #expect(await commands.execute("relay").status == .ok, "the listing works offline")
    }

    /// `relay` shows each failing destination's circuit from the agent.
    @Test func relayShowsTheCircuitBreakers() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands(actions: FakeAgentActions())
        let text = await commands.execute("relay", options: AdminProtocol.SessionOptions(width: nil)).output
        #expect(text.contains("destinations failing (circuit breaker)"))
        #expect(text.contains("https://app.example:443  open"))
        let json = try JSONValue.parse(await commands.execute("relay --json").output)
        #expect(json["circuits"]?.arrayValue?.first?["destination"] == "https://app.example:443")
        #expect(json["paused"] == false)
        #expect(await commands.execute("status").output.contains("circuit open for https://app.example:443"))
    }

    @Test func watchNeverRepeatsAnAction() throws {
        for line in ["watch 5 relay retry gave_up --yes", "watch 5 relay pause", "watch 5 RELAY resume", "watch 5 replay v2"] {
            #expect(throws: ConsoleWatchError.self, "\(line)") { try ConsoleWatch.parse(line) }
        }
        #expect(try ConsoleWatch.parse("watch 5 relay")?.command == "relay")
    }
}
