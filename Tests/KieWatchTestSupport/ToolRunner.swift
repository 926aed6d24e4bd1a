import Foundation

/// Runs external tools (promtool, the `kiewatch` binary) from tests without blocking Swift
/// concurrency's cooperative threads: on a 2-core machine the pool has 2 threads, and a test
/// that sits in `waitUntilExit()` there stalls every other test of the run.
package enum ToolRunner {
    package struct Result: Sendable {
        package var status: Int32
        /// stdout and stderr interleaved, as a person at a terminal would see them.
        package var output: String
        package var commandLine: String
    }

    /// Runs `executable` with `arguments` (optionally feeding `input` on stdin) and returns its
    /// exit status and output once it has exited.
    package static func run(
        _ executable: URL, _ arguments: [String], input: [UInt8]? = nil, in directory: URL? = nil
    ) async throws -> Result {
        try await offPool { try runBlocking(executable, arguments, input: input, in: directory) }
    }

    /// The same, blocking the calling thread: only for synchronous helpers of serial suites.
    package static func runBlocking(
        _ executable: URL, _ arguments: [String], input: [UInt8]? = nil, in directory: URL? = nil
    ) throws -> Result {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            if let directory { process.currentDirectoryURL = directory }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let stdin = input.map { _ in Pipe() }
            if let stdin { process.standardInput = stdin }
            try process.run()
            if let stdin, let input {
                stdin.fileHandleForWriting.write(Data(input))
                try stdin.fileHandleForWriting.close()
            }
            // Drain before waiting: a tool that fills the pipe buffer would otherwise block forever.
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
                commandLine: ([executable.path] + arguments).joined(separator: " "))
    }

    /// Runs blocking work on a thread of its own and awaits its result.
    package static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
