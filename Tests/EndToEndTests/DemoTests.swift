import Foundation
import KieWatchTestSupport
import Testing

/// `kiewatch demo`, as a newcomer runs it (without the interactive console): it must start the
/// whole stack, show traffic flowing and lost callbacks being recovered, and stop cleanly.
@Suite struct DemoTests {
    @Test func theDemoRunsTrafficRecoversCallbacksAndStopsCleanly() async throws {
        let kiewatch = try LiveBinary.kiewatch()
        let result = try await ToolRunner.run(kiewatch, ["demo", "--no-console", "--seconds", "45", "--seed", "7"])
        #expect(result.status == 0, "\(result.output)")
        let summaries = result.output.split(separator: "\n").filter { $0.hasPrefix("app: ") }
        #expect(summaries.count >= 6, "\(result.output)")
        let last = try #require(result.output.split(separator: "\n").first { $0.hasPrefix("demo stopped:") })
        // "demo stopped: app created N tasks and received M callbacks (R recovered by kiewatch, D duplicates)."
        let numbers = last.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count == 4, "\(last)")
        if numbers.count == 4 {
            #expect(numbers[0] >= 30)  // tasks created
            #expect(numbers[1] >= 20)  // callbacks the app received
            #expect(numbers[2] >= 1)  // lost callbacks kiewatch recovered within the run
            #expect(numbers[3] == 0)  // Kie's duplicates never reach the app
        }
        #expect(result.output.contains("database removed"))
    }
}
