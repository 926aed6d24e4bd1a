import Foundation
import KieWatchTestSupport
import Synchronization
import Testing

@testable import KieWatchHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The socket client against `RawTCPServer` on loopback: real sockets, scripted servers.
@Suite struct HTTPClientTests {
    private func url(_ server: RawTCPServer, _ path: String = "/") -> String {
        "http://127.0.0.1:\(server.port)\(path)"
    }

    private func sendExpectingError(
        _ client: HTTPClient, _ request: HTTPClientRequest, timeout: Duration = .seconds(5)
    ) async -> HTTPClientError? {
        do {
            _ = try await client.send(request, timeout: timeout)
            return nil
        } catch {
            return error
        }
    }

    /// Polls `condition` (a server thread's progress) for up to five seconds.
    private func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<5000 where !condition() { try await Task.sleep(for: .milliseconds(1)) }
        #expect(condition())
    }

    @Test func getRoundTrip() async throws {
        let seen = Mutex<String>("")
        let server = try RawTCPServer.keepAlive { head, _ in
            seen.withLock { $0 = head }
            return RawTCPServer.response(body: "{\"code\":200}", headers: ["Content-Type: application/json"])
        }
        defer { server.stop() }
        let client = HTTPClient()
        let response = try await client.send(
            HTTPClientRequest(url: url(server, "/api/v1/jobs/recordInfo?taskId=t1"), headers: ["Accept": "*/*"]),
            timeout: .seconds(5))
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(String(decoding: response.body, as: UTF8.self) == "{\"code\":200}")
        let head = seen.withLock { $0 }
        #expect(head.hasPrefix("GET /api/v1/jobs/recordInfo?taskId=t1 HTTP/1.1\r\n"))
        #expect(head.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n"))
        #expect(head.contains("\r\nAccept: */*\r\n"))
    }

    @Test func postRoundTripEchoesTheBody() async throws {
        let server = try RawTCPServer.keepAlive { head, body in
            RawTCPServer.response(status: head.hasPrefix("POST ") ? 201 : 400, body: String(decoding: body, as: UTF8.self))
        }
        defer { server.stop() }
        let client = HTTPClient()
        let payload = "{\"model\":\"veo3\",\"prompt\":\"\(String(repeating: "x", count: 100_000))\"}"
        let response = try await client.send(
            HTTPClientRequest(method: "POST", url: url(server, "/api/v1/jobs/createTask"), body: Array(payload.utf8)),
            timeout: .seconds(5))
        #expect(response.status == 201)
        #expect(String(decoding: response.body, as: UTF8.self) == payload)
    }

    @Test func keepAliveReusesOneConnection() async throws {
        let server = try RawTCPServer.keepAlive { _, _ in RawTCPServer.response(body: "ok") }
        defer { server.stop() }
        let client = HTTPClient()
        for i in 0..<5 {
            let response = try await client.send(
                HTTPClientRequest(method: i % 2 == 0 ? "GET" : "POST", url: url(server), body: i % 2 == 0 ? [] : [1, 2]),
                timeout: .seconds(5))
            #expect(response.body == Array("ok".utf8))
        }
        #expect(server.acceptedConnections == 1)
        #expect(server.requestsRead == 5)
        #expect(client.idleConnectionCount(host: "127.0.0.1", port: server.port) == 1)
    }

    @Test func headResponseLeavesTheConnectionReusable() async throws {
        let server = try RawTCPServer.keepAlive { head, _ in
            head.hasPrefix("HEAD ")
                ? "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" : RawTCPServer.response(body: "0123456789")
        }
        defer { server.stop() }
        let client = HTTPClient()
        let head = try await client.send(HTTPClientRequest(method: "HEAD", url: url(server)), timeout: .seconds(5))
        #expect(head.body.isEmpty && head.headers["Content-Length"] == "10")
        let get = try await client.send(HTTPClientRequest(url: url(server)), timeout: .seconds(5))
        #expect(get.body.count == 10)
        #expect(server.acceptedConnections == 1)
    }

    @Test func poolServes64ConcurrentCallers() async throws {
        let server = try RawTCPServer.keepAlive { _, body in RawTCPServer.response(body: "\(body.count)") }
        defer { server.stop() }
        let client = HTTPClient()
        let target = url(server, "/webhooks/kie")
        let ok = try await withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<64 {
                group.addTask {
                    var ok = 0
                    for i in 0..<20 {
                        let body = [UInt8](repeating: 7, count: caller + i)
                        let r = try await client.send(
                            HTTPClientRequest(method: "POST", url: target, body: body), timeout: .seconds(10))
                        if r.status == 200, r.body == Array("\(caller + i)".utf8) { ok += 1 }
                    }
                    return ok
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(ok == 64 * 20)
        // Reuse, not a hard cap: the pool bounds idle connections, and a connection that looks
        // dead when taken from the pool is replaced, so a few more than 64 may be opened.
        #expect(server.acceptedConnections < 64 * 2)
        #expect(server.requestsRead == 64 * 20)
    }

    @Test func connectionRefusedIsConnectFailed() async throws {
        let refusing = RawTCPServer.RefusingPort()
        let port = refusing.port
        let e = await sendExpectingError(HTTPClient(), try HTTPClientRequest(url: "http://127.0.0.1:\(port)/"))
        withExtendedLifetime(refusing) {}
        #expect(e == .connectFailed(errno: ECONNREFUSED, message: String(cString: strerror(ECONNREFUSED))))
    }

    @Test func localhostFallsBackAcrossAddresses() async throws {
        // `localhost` may resolve to ::1 first; the server only listens on 127.0.0.1.
        let server = try RawTCPServer.keepAlive { _, _ in RawTCPServer.response(body: "hi") }
        defer { server.stop() }
        let r = try await HTTPClient().send(
            HTTPClientRequest(url: "http://localhost:\(server.port)/"), timeout: .seconds(5))
        #expect(r.body == Array("hi".utf8))
    }

    @Test func serverThatNeverAnswersTimesOut() async throws {
        let server = try RawTCPServer { connection in
            _ = connection.readRequest()
            connection.stall()
        }
        defer { server.stop() }
        let client = HTTPClient()
        let e = await sendExpectingError(client, try HTTPClientRequest(url: url(server)), timeout: .milliseconds(200))
        #expect(e == .timeout)
        #expect(client.idleConnectionCount(host: "127.0.0.1", port: server.port) == 0)
    }

    @Test func resetMidResponseIsConnectionReset() async throws {
        let server = try RawTCPServer { connection in
            _ = connection.readRequest()
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            connection.reset()
        }
        defer { server.stop() }
        let e = await sendExpectingError(HTTPClient(), try HTTPClientRequest(url: url(server)))
        #expect(e == .connectionReset)
    }

    @Test func garbageIsMalformedResponse() async throws {
        let server = try RawTCPServer { connection in
            _ = connection.readRequest()
            connection.write("SSH-2.0-OpenSSH_9.6\r\n\r\n")
        }
        defer { server.stop() }
        let e = await sendExpectingError(HTTPClient(), try HTTPClientRequest(url: url(server)))
        #expect(e == .malformedResponse("bad status line 'SSH-2.0-OpenSSH_9.6'"))
    }

    @Test func chunkedResponse() async throws {
        let server = try RawTCPServer { connection in
            while connection.readRequest() != nil {
                connection.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nkie-\r\n")
                connection.write("5\r\nwatch\r\n0\r\n\r\n")
            }
        }
        defer { server.stop() }
        let client = HTTPClient()
        for _ in 0..<2 {
            let r = try await client.send(HTTPClientRequest(url: url(server)), timeout: .seconds(5))
            #expect(String(decoding: r.body, as: UTF8.self) == "kie-watch")
        }
        #expect(server.acceptedConnections == 1)
    }

    @Test func closeDelimitedResponseIsNotPooled() async throws {
        let server = try RawTCPServer { connection in
            _ = connection.readRequest()
            connection.write("HTTP/1.0 200 OK\r\n\r\nto the end")
        }
        defer { server.stop() }
        let client = HTTPClient()
        let r = try await client.send(HTTPClientRequest(url: url(server)), timeout: .seconds(5))
        #expect(String(decoding: r.body, as: UTF8.self) == "to the end")
        #expect(client.idleConnectionCount(host: "127.0.0.1", port: server.port) == 0)
    }

    @Test func idleConnectionClosedByServerIsReplacedTransparently() async throws {
        let closed = Atomic<Int>(0)
        let server = try RawTCPServer { connection in
            guard connection.readRequest() != nil else { return }
            connection.write(RawTCPServer.response(body: "first"))
            connection.close()  // the server's idle timeout, without saying `Connection: close`
            closed.add(1, ordering: .relaxed)
        }
        defer { server.stop() }
        let client = HTTPClient()
        _ = try await client.send(HTTPClientRequest(method: "POST", url: url(server)), timeout: .seconds(5))
        try await eventually { closed.load(ordering: .relaxed) == 1 }
        // A POST that must not be retried still succeeds: the dead connection is noticed before use.
        let r = try await client.send(HTTPClientRequest(method: "POST", url: url(server)), timeout: .seconds(5))
        #expect(r.body == Array("first".utf8))
        #expect(server.acceptedConnections == 2)
    }

    /// A server that, on its first connection, answers one request and then drops the next one
    /// unanswered (the race where its idle timeout fires as our request arrives).
    private func racingServer() throws -> RawTCPServer {
        try RawTCPServer { connection in
            while connection.readRequest() != nil {
                if connection.index == 1, connection.requestsOnThisConnection == 2 { return }  // closed unanswered
                connection.write(RawTCPServer.response(body: "conn\(connection.index)"))
            }
        }
    }

    @Test func staleConnectionIsRetriedWhenAllowed() async throws {
        for request in [
            try HTTPClientRequest(url: "http://x/"),  // idempotent
            try HTTPClientRequest(method: "POST", url: "http://x/", retryOnStaleConnection: true),
        ] {
            let server = try racingServer()
            defer { server.stop() }
            let client = HTTPClient()
            var r = request
            r.url = try HTTPClientURL(url(server))
            _ = try await client.send(r, timeout: .seconds(5))
            let second = try await client.send(r, timeout: .seconds(5))
            #expect(second.body == Array("conn2".utf8))
            #expect(server.requestsRead == 3)  // first, the dropped one, its retry
        }
    }

    @Test func staleConnectionFailsCleanlyWhenRetryIsNotAllowed() async throws {
        let server = try racingServer()
        defer { server.stop() }
        let client = HTTPClient()
        let post = try HTTPClientRequest(method: "POST", url: url(server), body: Array("{\"createTask\":1}".utf8))
        _ = try await client.send(post, timeout: .seconds(5))
        let e = await sendExpectingError(client, post)
        #expect(e == .connectionReset)
        #expect(server.requestsRead == 2)  // the POST reached the server once and was not re-sent
        #expect(server.acceptedConnections == 1)
        // The client is fine afterwards.
        let r = try await client.send(post, timeout: .seconds(5))
        #expect(r.body == Array("conn2".utf8))
    }

    @Test func cancellationEndsTheWait() async throws {
        let server = try RawTCPServer { connection in
            _ = connection.readRequest()
            connection.stall()
        }
        defer { server.stop() }
        let client = HTTPClient()
        let request = try HTTPClientRequest(url: url(server))
        let task = Task { await sendExpectingError(client, request, timeout: .seconds(60)) }
        try await eventually { server.requestsRead == 1 }
        task.cancel()
        #expect(await task.value == .cancelled)
    }

    @Test func httpsIsNotForTheSocketClient() async throws {
        let e = await sendExpectingError(HTTPClient(), try HTTPClientRequest(url: "https://api.kie.ai/"))
        #expect(e == .unsupportedScheme("https"))
    }
}
