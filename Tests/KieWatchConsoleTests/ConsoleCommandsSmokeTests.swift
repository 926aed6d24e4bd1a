import KieWatchAgent
import KieWatchConsole
import Testing

struct ConsoleCommandsSmokeTests {
    @Test func dump() async throws {
        let fixture = try await ConsoleFixture.make()
        let online = try fixture.commands(actions: FakeAgentActions())
        for line in ["help", "status", "models", "models 24h", "tasks", "task v2", "task k1", "stale", "missed", "errors", "errors 24h",
                     "calls", "webhooks", "sync v1", "sync stale", "relay", "credits", "sql SELECT task_id, callback_url FROM tasks",
                     "sql DELETE FROM tasks", "watch 5 stale", "bogus", "tasks state=nope", "models --json", "quit"] {
            let a = await online.execute(line, options: .init(width: 100))
            print("### \(line) [\(a.status)]\n\(a.output)\n")
        }
        let offline = try fixture.commands()
        for line in ["status", "models", "sync v1"] {
            let a = await offline.execute(line)
            print("### offline \(line) [\(a.status)]\n\(a.output)\n")
        }
    }
}
