import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import Testing

/// Every command against the fixture store (see `ConsoleFixture`), with exact values: the
/// percentiles are what `LatencyBuckets` interpolation gives for the fixture's durations
/// (e.g. four 1 s creates all fall in the (819.2 ms, 1158.5 ms] bucket: p50 = 819200 +
/// 339324 × 2/4 µs = 988 ms).
struct ConsoleCommandsTests {
    @Test func modelsFromRollupsWithExactPercentiles() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands(actions: FakeAgentActions())
        let answer = await commands.execute("models", options: jsonOptions)
        #expect(answer.status == .ok)
        let models = try json(answer)["models"]?.arrayValue ?? []
        #expect(models.count == 2)
        let k = models[0], v = models[1]
        #expect(k["model"] == .string(kling))
        #expect(k["calls"] == 6 && k["call_errors"] == 1 && k["tasks_created"] == 2 && k["tasks_finished"] == 2)
        #expect(k["success_ratio"] == 0.5 && k["fail_ratio"] == 0.5 && k["webhooks_missed"] == 0)
        #expect(k["create_latency_ms"] == ["p50": 988, "p95": 1141, "p99": 1155])
        #expect(k["task_duration_ms"] == ["p50": 74145, "p95": 143947])
        #expect(k["webhook_delay_ms"] == ["p50": 1158, "p95": 6361])
        #expect(k["deadline_ms"] == 900_000 && k["deadline_reason"] == "built-in default")
        #expect(v["model"] == "veo3" && v["calls"] == 3 && v["call_errors"] == 1 && v["tasks_created"] == 3)
        #expect(v["tasks_finished"] == 1 && v["webhooks_missed"] == 1 && v["success_ratio"] == 1)
        #expect(v["create_latency_ms"] == ["p50": 2796, "p95": 3228, "p99": 3267])
        #expect(v["task_duration_ms"] == ["p50": 179003, "p95": 206643])
        #expect(v["webhook_delay_ms"] == ["p50": nil, "p95": nil])
        #expect(v["deadline_ms"] == 600_000 && v["deadline_reason"] == "config deadline.veo3")

        // The window matters: the 429 two hours back counts in 24h only.
        let day = try json(await commands.execute("models 24h --json"))["models"]?.arrayValue ?? []
        #expect(day[0]["calls"] == 7 && day[0]["call_errors"] == 2)
    }

    @Test func modelsTableFitsAndSaysHowDeadlinesWereChosen() async throws {
        let fixture = try await ConsoleFixture.make()
        let text = await (try fixture.commands(actions: FakeAgentActions())).execute("models").output
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 })
        #expect(text.contains("""
            MODEL                    CREATE p50   p95   p99  TASK p50    p95  HOOK p50   p95
            kling-2.6/text-to-video       988ms  1.1s  1.1s     1m14s  2m23s      1.1s  6.3s
            veo3                           2.7s  3.2s  3.2s     2m59s  3m26s         -     -
            """))
        #expect(text.contains("veo3                       10m00s  config deadline.veo3"))
        let offline = await (try fixture.commands()).execute("models").output
        #expect(offline.contains("offline (the running agent chooses deadlines)"))
    }

    @Test func errorsGroupedByCodeWithFixAndWebhookRefusals() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        let errors = try json(await commands.execute("errors", options: jsonOptions))
        let api = errors["api_errors"]?.arrayValue ?? []
        #expect(api.count == 2)
        #expect(api[0]["code"] == "429" && api[0]["count"] == 1 && api[0]["last_seen"] == .int(t0 + 10 * minute + 3_000))
        #expect(api[0]["fix"] == .string(KieCode.hint(forLabel: "429")))
        #expect(api[0]["models"] == [kling: 1])
        #expect(api[1]["code"] == "timeout" && api[1]["last_seen"] == .int(t0 + 50 * minute) && api[1]["models"] == ["veo3": 1])
        let hooks = errors["webhook_refusals"]?.arrayValue ?? []
        #expect(hooks.count == 1 && hooks[0]["result"] == "unauthorized" && hooks[0]["count"] == 1)
        let day = try json(await commands.execute("errors 24h --json"))
        #expect(day["api_errors"]?.arrayValue?.first?["count"] == 2)
        let text = await commands.execute("errors", options: wideTable).output
        #expect(text.contains("check KIE_CALLBACK_SECRET"))
        #expect(text.contains("back off: wait 10 s"))
    }

    @Test func tasksListFiltersAndStates() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        let all = try json(await commands.execute("tasks --json"))["tasks"]?.arrayValue ?? []
        #expect(all.map { $0["task_id"] } == ["v3", "v1", "k2", "k1", "v2"])
        #expect(all[1]["stale"] == true)
        let open = try json(await commands.execute("tasks state=open --json"))["tasks"]?.arrayValue ?? []
        #expect(open.map { $0["task_id"] } == ["v3", "v1"])
        let kling2 = try json(await commands.execute("tasks model=\(kling) limit=1 --json"))["tasks"]?.arrayValue ?? []
        #expect(kling2.map { $0["task_id"] } == ["k2"])
        let recent = try json(await commands.execute("tasks since=20m --json"))["tasks"]?.arrayValue ?? []
        #expect(recent.map { $0["task_id"] } == ["v3"])
        let text = await commands.execute("tasks", options: wideTable).output
        #expect(text.contains("v1    veo3                     generating (stale)  40m ago  running 40m00s  waiting   -"))
        #expect(text.hasSuffix("5 tasks, newest first"))
    }

    @Test func taskTimelineMergesEverySourceInOrder() async throws {
        let fixture = try await ConsoleFixture.make()
        let answer = await (try fixture.commands()).execute("task v2", options: wideTable)
        #expect(answer.status == .ok)
        let events = answer.output.split(separator: "\n").drop { !$0.hasPrefix("TIME") }.dropFirst()
            .map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            .map { "\($0[3]) \($0[4])" }
        #expect(events == [
            "created veo3", "create call", "done at", "deadline passed", "recovery poll", "learned success",
            "relay queued", "relay attempt", "relay attempt",
        ])
        #expect(answer.output.contains("#1 attempt 1: HTTP 500 (POST https://app.example/hook?secret=REDACTED&x=1 answered 500)"))
        let k1 = try json(await (try fixture.commands()).execute("task k1 --json"))
        let kinds = k1["timeline"]?.arrayValue?.compactMap { $0["event"]?.stringValue } ?? []
        #expect(kinds == [
            "created", "create call", "status poll", "status poll", "done at Kie", "callback", "learned",
            "relay queued", "relay attempt", "callback", "deadline", "relay next",
        ])
        #expect(k1["timeline"]?.arrayValue?[5]["detail"] == "accepted, auth ok, state success, 1.0s after Kie finished")
    }

    @Test func unknownTaskIsOneLine() async throws {
        let fixture = try await ConsoleFixture.make()
        let answer = await (try fixture.commands()).execute("task nope")
        #expect(answer.status == .error)
        #expect(answer.output == "no task 'nope' in the store (unknown id, or older than the retention)")
    }

    @Test func staleMissedRelayCredits() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands(actions: FakeAgentActions())
        let stale = await commands.execute("stale")
        #expect(stale.output == """
            TASK  MODEL  STATE          AGE  PAST DEADLINE  POLLS  NEXT POLL  GAVE UP
            v1    veo3   generating  40m00s         30m00s      2      in 2m        -
            1 stale task, oldest deadline first. `sync stale` polls them now
            """)
        let missed = try json(await commands.execute("missed --json"))
        #expect(missed["total"] == 1 && missed["by_model"] == ["veo3": 1])
        #expect(missed["tasks"]?.arrayValue?.first?["task_id"] == "v2")
        #expect(missed["last_webhook_at"] == .int(t0 + 50 * minute))
        let relay = try json(await commands.execute("relay --json"))
        #expect(relay["pending"] == 1 && relay["oldest_pending_at"] == .int(t0 + 12 * minute + 1_000))
        #expect(relay["pending_items"]?.arrayValue?.first?["url"] == "https://app.example/hook?secret=REDACTED&x=1")
        let credits = try json(await commands.execute("credits --json"))
        #expect(credits["remaining"] == 1234.5 && credits["consumed"] == 30)
        #expect(credits["by_model"] == [["model": .string(kling), "tasks_finished": 2, "credits": 10],
                                        ["model": "veo3", "tasks_finished": 1, "credits": 20]])
    }

    @Test func callsAndWebhooksFilters() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        let limited = try json(await commands.execute("calls code=429 since=24h --json"))["calls"]?.arrayValue ?? []
        #expect(limited.map { $0["ts"] } == [.int(t0 + 10 * minute + 3_000), .int(t0 - 120 * minute)])
        let polls = try json(await commands.execute("calls endpoint=record_info --json"))["calls"]?.arrayValue ?? []
        #expect(polls.count == 2 && polls.allSatisfy { $0["task_id"] == "k1" })
        let timeouts = try json(await commands.execute("calls code=timeout --json"))["calls"]?.arrayValue ?? []
        #expect(timeouts.count == 1)
        let hooks = try json(await commands.execute("webhooks result=unauthorized --json"))["webhooks"]?.arrayValue ?? []
        #expect(hooks.count == 1 && hooks[0]["auth"] == "bad_secret")
        let byModel = try json(await commands.execute("webhooks model=\(kling) --json"))["webhooks"]?.arrayValue ?? []
        #expect(byModel.map { $0["result"] } == ["duplicate", "accepted"])
    }

    @Test func statusOnlineAndOffline() async throws {
        let fixture = try await ConsoleFixture.make()
        let online = try json(await (try fixture.commands(actions: FakeAgentActions())).execute("status --json"))
        #expect(online["agent"] == "running" && online["uptime_ms"] == .int(3 * 60 * minute))
        #expect(online["public_url"] == "https://hooks.example?token=REDACTED")
        #expect(online["in_flight"] == 2 && online["stale"] == 1 && online["relay_pending"] == 1)
        #expect(online["rows"] == ["api_calls": 11, "webhooks": 3, "tasks": 5, "recoveries": 1, "relay_outbox": 2, "relay_attempts": 3])
        #expect(online["credits_remaining"] == 1234.5)
        let offline = await (try fixture.commands()).execute("status")
        #expect(offline.status == .ok)
        #expect(offline.output.hasPrefix("agent          offline: reading the database file only"))
        #expect(offline.output.contains("stale          1 task, oldest 30m00s past its deadline"))
    }

    @Test func syncGoesThroughTheAgentAndIsRefusedOffline() async throws {
        let fixture = try await ConsoleFixture.make()
        let actions = FakeAgentActions()
        let commands = try fixture.commands(actions: actions)
        let one = try json(await commands.execute("sync v1 --json"))
        #expect(one["reports"]?.arrayValue?.first?["result"] == "recovered")
        let stale = await commands.execute("sync stale limit=5")
        #expect(stale.output.hasSuffix("polled 2 stale tasks: 1 still_running, 1 unknown_task"))
        #expect(actions.syncedIDs.withLock { $0 } == ["v1", "stale:5"])
        let offline = await (try fixture.commands()).execute("sync stale")
        #expect(offline.status == .error)
        #expect(offline.output == "sync needs the running agent: start `kiewatch serve` or use its admin socket")
        #expect(await (try fixture.commands()).execute("sync").output.hasPrefix("sync needs a task id or `stale`\nusage: "))
    }

    @Test(arguments: [
        ("sql DELETE FROM tasks", "refused: sql may only read (no writes, ATTACH/DETACH or pragma changes)"),
        ("sql ATTACH DATABASE '/tmp/x.db' AS x", "refused: sql may only read (no writes, ATTACH/DETACH or pragma changes)"),
        ("sql PRAGMA journal_mode = DELETE", "refused: sql may only read (no writes, ATTACH/DETACH or pragma changes)"),
        ("sql SELECT 1; SELECT 2", "refused: only one statement is allowed"),
    ])
    func sqlRefusalsAreOneLine(line: String, expected: String) async throws {
        let fixture = try await ConsoleFixture.make()
        let answer = await (try fixture.commands()).execute(line)
        #expect(answer.status == .error)
        #expect(answer.output == expected)
    }

    @Test func sqlReadsAndRedacts() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        let answer = await commands.execute("sql SELECT task_id, callback_url FROM tasks WHERE task_id = 'k1'")
        #expect(answer.output == """
            task_id  callback_url
            k1       https://app.example/hook?secret=REDACTED&x=1
            1 row
            """)
        let asJSON = try json(await commands.execute("sql SELECT count(*) AS n FROM tasks --json"))
        #expect(asJSON == ["command": "sql", "columns": ["n"], "rows": [["5"]], "truncated": false])
    }

    @Test(arguments: [
        ("bogus", "unknown command 'bogus'\nusage: type `help` for the list of commands"),
        ("tasks state=nope", "unknown state 'nope' (use open, created, waiting, queuing, generating, success, fail)\nusage: tasks [model=M] [state=S|open] [since=WINDOW] [limit=N]"),
        ("models forever", "'forever' is not a window: use a duration such as 15m, 1h or 24h\nusage: models [WINDOW]"),
        ("calls limit=0", "'limit=0' must be a number from 1 to 1000\nusage: calls [model=M] [endpoint=E] [code=C] [since=WINDOW] [limit=N]"),
        ("tasks colour=red", "unknown filter 'colour' (known: model, state, since, limit)\nusage: tasks [model=M] [state=S|open] [since=WINDOW] [limit=N]"),
        ("task", "task needs a task id\nusage: task ID"),
        ("status now", "unexpected argument 'now'\nusage: status"),
        ("watch 5 stale", "watch runs in the console, not in the agent: type it at the kiewatch> prompt, or run `kiewatch console -c 'watch 5 stale'`"),
    ])
    func badInputIsOneLinePlusUsage(line: String, expected: String) async throws {
        let fixture = try await ConsoleFixture.make()
        let answer = await (try fixture.commands()).execute(line)
        #expect(answer.status == .error)
        #expect(answer.output == expected)
    }

    @Test func jsonErrorsAndStableJSON() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        let error = await commands.execute("tasks state=nope", options: jsonOptions)
        #expect(try json(error)["error"] == "unknown state 'nope' (use open, created, waiting, queuing, generating, success, fail)")
        // Same store, same clock: byte-identical JSON, one line, whichever way JSON was asked for.
        let first = await commands.execute("models --json").output
        #expect(first == (await commands.execute("models", options: jsonOptions)).output)
        #expect(first == (await (try fixture.commands()).execute("models --json")).output)
        #expect(!first.contains("\n"))
    }

    @Test func helpListsEveryCommandWithAnExample() async throws {
        let fixture = try await ConsoleFixture.make()
        let help = await (try fixture.commands()).execute("help", options: wideTable)
        for spec in ConsoleCommandSpec.all {
            #expect(help.output.contains(spec.usage) && help.output.contains(spec.example))
        }
        let one = await (try fixture.commands()).execute("help stale")
        #expect(one.output == "usage: stale [limit=N]\ntasks past their deadline without a callback\nexample: stale")
        let quit = await (try fixture.commands()).execute("exit")
        #expect(quit.status == .ok && quit.endsSession)
    }

    @Test func noSecretInAnyOutput() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands(actions: FakeAgentActions())
        let lines = ["status", "tasks", "task k1", "task v2", "task v1", "relay", "stale", "missed", "calls", "webhooks",
                     "sql SELECT * FROM tasks", "sql SELECT * FROM relay_outbox", "sql SELECT * FROM relay_attempts"]
        for line in lines {
            for options in [AdminProtocol.SessionOptions(width: 1_000), jsonOptions] {
                let answer = await commands.execute(line, options: options)
                #expect(answer.status == .ok, "\(line)")
                #expect(!answer.output.contains("abc"), "\(line) leaked the app's secret")
                #expect(!answer.output.contains("zzz"), "\(line) leaked the public URL's token")
            }
        }
    }

    @Test func completionOfTaskIDs() async throws {
        let fixture = try await ConsoleFixture.make()
        let commands = try fixture.commands()
        #expect(await commands.execute("_complete v").output == "v1\nv2\nv3")
        #expect(await commands.execute("_complete k2").output == "k2")
    }
}
