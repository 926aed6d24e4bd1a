#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import KieWatchConsole

struct AdminClientTests {
    @Test func commandAnswerRoundTrip() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, server in
            guard case .command(let command)? = connection.nextRequest() else { return server.note("no command") }
            server.note(command)
            _ = connection.send(AdminProtocol.frame(output: "line 1\n\u{1E}END ok\nline 3\n", status: .ok))
        }
        let response = try AdminClient(socketPath: server.path).execute("status")
        #expect(response == AdminResponse(status: .ok, lines: ["line 1", "\u{1E}END ok", "line 3"]))
        #expect(server.waitUntilDone())
        #expect(server.recorded == ["status"])
    }

    @Test func sessionDirectivesPrecedeTheCommand() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, server in
            var options = AdminProtocol.SessionOptions()
            while let request = connection.nextRequest() {
                switch request {
                case .directive(let directive):
                    options.apply(directive)
                    _ = connection.send(AdminProtocol.frame(output: "", status: .ok))
                case .command(let command):
                    let answer = "\(command) as \(options.format.rawValue) at \(options.width.map(String.init) ?? "none")"
                    _ = connection.send(AdminProtocol.frame(output: answer, status: .ok))
                case .invalid(let reason):
                    _ = connection.send(AdminProtocol.frame(output: reason, status: .error))
                }
            }
        }
        let client = AdminClient(socketPath: server.path, options: .init(format: .json, width: 120))
        #expect(try client.execute("models 24h").text == "models 24h as json at 120")
        #expect(server.waitUntilDone())
    }

    @Test func errorAnswerIsAResponseNotAThrow() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, _ in
            _ = connection.nextRequest()
            _ = connection.send(AdminProtocol.frame(output: "no task abc123", status: .error))
        }
        let response = try AdminClient(socketPath: server.path).execute("task abc123")
        #expect(response.status == .error)
        #expect(response.text == "no task abc123")
    }

    @Test func noSocketIsOneClearLine() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("none.sock")
        #expect(throws: ConsoleError(
            .agentUnreachable,
            "cannot reach the agent at \(path): no such file or directory (is 'kiewatch serve' running? or use --db PATH for offline mode)",
            errno: ENOENT
        )) { try AdminClient(socketPath: path).execute("status") }
    }

    @Test func connectionRefusedWhenNobodyListens() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("stale.sock")
        // a socket file left behind by an agent that is gone
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = UnixSocketAddress(path: path)!.withSockaddr { bind(fd, $0, $1) }
        close(fd)
        #expect(throws: ConsoleError(
            .agentUnreachable,
            "cannot reach the agent at \(path): connection refused (is 'kiewatch serve' running? or use --db PATH for offline mode)",
            errno: ECONNREFUSED
        )) { try AdminClient(socketPath: path).execute("status") }
    }

    @Test func tooLongSocketPath() {
        let path = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: ConsoleError.self) { try AdminClient(socketPath: path).execute("status") }
    }

    @Test func agentDyingMidAnswer() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve(connections: 2) { connection, _ in
            _ = connection.nextRequest()
            _ = connection.send(AdminProtocol.frameLine("MODEL  CALLS") + Array("veo3_fa".utf8))
        }
        let client = AdminClient(socketPath: server.path)
        #expect(throws: ConsoleError(
            .connectionLost,
            "the agent at \(server.path) closed the connection in the middle of an answer (it may have crashed or restarted; check its log)"
        )) { try client.execute("models") }
        // the same through the streaming path
        nonisolated(unsafe) var seen: [String] = []
        #expect(throws: ConsoleError.self) { try client.execute("models") { seen.append($0); return true } }
        #expect(seen == ["MODEL  CALLS"])
    }

    @Test func agentClosingWithoutAnswering() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, _ in _ = connection.nextRequest() }
        #expect(throws: ConsoleError(
            .connectionLost,
            "the agent at \(server.path) closed the connection without answering (it may have crashed or restarted; check its log)"
        )) { try AdminClient(socketPath: server.path).execute("status") }
    }

    @Test func clientStoppingMidOutputStopsTheServerCleanly() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, server in
            _ = connection.nextRequest()
            // far more than the socket buffers hold, so the write must notice the reader left
            for index in 0..<100_000 {
                if !connection.send(AdminProtocol.frameLine("row \(index) " + String(repeating: "x", count: 200))) {
                    return server.note("client gone")
                }
            }
            _ = connection.send(AdminProtocol.endMarker(.ok))
            server.note("finished")
        }
        nonisolated(unsafe) var received = 0
        let response = try AdminClient(socketPath: server.path).execute("watch 5 stale") { _ in
            received += 1
            return received < 3
        }
        #expect(response.wasCancelled)
        #expect(received == 3)
        #expect(server.waitUntilDone())
        #expect(server.recorded == ["client gone"])
    }

    @Test func silentAgentTimesOut() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = AdminTestServer(path: directory.file("kw.sock"))
        defer { server.stop() }
        server.serve { connection, _ in
            while connection.nextRequest() != nil {}  // reads, never answers, until the client leaves
        }
        let client = AdminClient(socketPath: server.path, timeoutMillis: 50)
        #expect(performing: { try client.execute("status") }, throws: { ($0 as? ConsoleError)?.code == .timeout })
        #expect(server.waitUntilDone())
    }
}
