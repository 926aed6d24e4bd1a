import Foundation
import KieWatchTestSupport
import Testing

/// The command line as a person types it: bad values are one line on stderr and exit code 2,
/// never a crash (issue 18, point 3: `serve --retention` with parts summing past Int64.max
/// exited 132).
@Suite struct CommandLineTests {
    @Test(arguments: [
        (["serve", "--retention", String(repeating: "8999999999999999ms", count: 1100)],
         "kiewatch: serve: --retention: a duration can be at most 36500d"),
        (["serve", "--retention", "36501d"], "kiewatch: serve: --retention: a duration can be at most 36500d"),
    ])
    func outOfRangeNumbersAreAOneLineErrorAndExitCode2(arguments: [String], expected: String) async throws {
        let kiewatch = try LiveBinary.kiewatch()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiewatch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await ToolRunner.run(kiewatch, arguments, in: directory)
        #expect(result.status == 2, "\(result.output.prefix(300))")
        #expect(result.output == expected + "\n")
    }
}
