import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import Testing

/// Console arguments are numbers from outside too: a window whose parts add up past Int64
/// (issue 18, point 3) is a one-line error plus usage, never a trap in the agent.
struct ConsoleUntrustedNumbersTests {
    /// Each part under the old per-part limit (9e15); 1,100 of them pass Int64.max, where the
    /// old sum trapped (1,000, the example, stays just below it).
    static let huge = String(repeating: "8999999999999999ms", count: 1100)

    @Test(arguments: [
        ("calls since=\(huge)", "usage: calls [model=M] [endpoint=E] [code=C] [since=WINDOW] [limit=N]"),
        ("tasks since=\(huge)", "usage: tasks [model=M] [state=S|open] [since=WINDOW] [limit=N]"),
        ("webhooks since=\(huge)", "usage: webhooks [model=M] [result=R] [since=WINDOW] [limit=N]"),
        ("models \(huge)", "usage: models [WINDOW]"),
        ("errors 36501d", "usage: errors [WINDOW]"),
    ])
    func aWindowTooLongToAddUpIsAOneLineError(line: String, usage: String) async throws {
        let fixture = try await ConsoleFixture.make()
        let answer = await (try fixture.commands()).execute(line)
        #expect(answer.status == .error)
        let lines = answer.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("window '") == true && lines.first?.hasSuffix("' is longer than 90d") == true)
        #expect(lines.last.map(String.init) == usage)
    }
}
