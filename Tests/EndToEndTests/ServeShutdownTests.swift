import Foundation
import KieWatchHTTP
import KieWatchTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `kiewatch serve` as a supervisor stops it: SIGTERM while a proxied call hangs on an upstream
/// that never answers (its timeout set to 10 minutes) ends the process within `--grace`, exit
/// 0; a second signal ends it at once. And the console into a pipe cuts nothing.
@Suite("kiewatch serve: shutdown", .serialized)
struct ServeShutdownTests {
    @Test func sigtermWithACallInFlightExitsWithinTheGrace() async throws {
        let run = try await HangingCallRun.start(grace: "1s")
        defer { run.stop() }
        kill(run.agent.pid, SIGTERM)
        let status = try await run.exitStatus(within: .seconds(20))
        #expect(status == 0, "\(run.agent.log)")
        #expect(run.agent.log.contains("event=agent.stopped"))
        #expect(try await run.client.waitForClose(), "the call in flight was cut at the grace")
    }

    @Test func aSecondSignalExitsAtOnce() async throws {
        let run = try await HangingCallRun.start(grace: "10m")
        defer { run.stop() }
        kill(run.agent.pid, SIGTERM)
        _ = try await LiveWait.until("the agent to start stopping", timeout: .seconds(10), interval: .milliseconds(20)) {
            _ in run.agent.log.contains("event=agent.stopping") ? true : nil
        }
        #expect(run.agent.isRunning, "still draining: the grace is 10 minutes")
        kill(run.agent.pid, SIGINT)
        let status = try await run.exitStatus(within: .seconds(20))
        #expect(status == 128 + SIGINT, "\(run.agent.log)")
        #expect(run.agent.log.contains("event=agent.stopped_now"))
    }

    /// `kiewatch console -c help | cat`: stdout is a pipe, so the help table is not fitted to
    /// 80 columns and nothing ends in `…`.
    @Test func consoleHelpIntoAPipeIsNotCut() async throws {
        let run = try await HangingCallRun.start(grace: "1s", sendCall: false)
        defer { run.stop() }
        let result = try await ToolRunner.run(
            run.kiewatch, ["console", "--socket", run.directory.file("admin.sock").path, "-c", "help"])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("…"), "\(result.output)")
        #expect(result.output.split(separator: "\n").contains { $0.count > 80 }, "\(result.output)")
        #expect(result.output.contains("poll Kie now for one task or every stale task (needs the agent)"))
    }
}

/// An agent whose upstream accepts connections and never answers, with one proxied create
/// waiting on it.
private struct HangingCallRun {
    let kiewatch: URL
    let directory: LiveTemporaryDirectory
    let upstream: RawTCPServer
    let agent: LiveProcess
    let client: RawHTTPClient

    static func start(grace: String, sendCall: Bool = true) async throws -> HangingCallRun {
        let kiewatch = try LiveBinary.kiewatch()
        let directory = try LiveTemporaryDirectory("kw-stop")
        let upstream = try RawTCPServer { connection in connection.stall() }
        let config = directory.file("agent.conf")
        try "upstream_timeout = 10m\n".write(to: config, atomically: true, encoding: .utf8)
        let (agent, port) = try await LiveProcess.startListening { port in
            try await LiveProcess.start(
                name: "kiewatch serve", executable: kiewatch,
                arguments: [
                    "serve", "--listen", "127.0.0.1:\(port)", "--upstream", "http://127.0.0.1:\(upstream.port)",
                    "--db", directory.file("agent.db").path, "--admin-socket", directory.file("admin.sock").path,
                    "--config", config.path, "--grace", grace,
                ],
                logFile: directory.file("agent.log"), readyLine: "event=agent.started")
        }
        let client = try await RawHTTPClient(port: port, timeout: .seconds(20))
        if sendCall {
            let body = #"{"model":"kling-2.6/text-to-video","input":{"prompt":"a red panda"}}"#
            try await client.send(
                "POST /api/v1/jobs/createTask HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer app-key\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            _ = try await LiveWait.until("the proxied call to reach the upstream", timeout: .seconds(10),
                                         interval: .milliseconds(20)) { _ in upstream.acceptedConnections >= 1 ? true : nil }
        }
        return HangingCallRun(kiewatch: kiewatch, directory: directory, upstream: upstream, agent: agent, client: client)
    }

    /// The exit status once the agent has exited by itself; an error (naming the log) if it is
    /// still running after `limit`.
    func exitStatus(within limit: Duration) async throws -> Int32 {
        let process = agent.process
        _ = try await LiveWait.until("kiewatch serve to exit", timeout: limit, interval: .milliseconds(20)) { note in
            note = String(agent.log.suffix(300))
            return process.isRunning ? nil : true
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "ended by its own exit, not killed by the signal")
        return process.terminationStatus
    }

    func stop() {
        agent.stop()
        upstream.stop()
        client.close()
        directory.remove()
    }
}
