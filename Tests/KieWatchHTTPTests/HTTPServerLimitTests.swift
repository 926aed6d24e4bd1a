import Foundation
import KieWatchHTTP
import KieWatchTestSupport
import Testing

/// Bad and hostile clients against a real server: each gets the exact status, its connection is
/// closed, and a fresh connection is still served.
@Suite(.serialized)
struct HTTPServerLimitTests {
    static let echo = ClosureHandler { request in
        HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: request.body)
    }

    /// Sends `bytes`, expects `status` with `Connection: close` and a closed connection, then
    /// checks that a new connection is served.
    private func expectRefusal(_ bytes: [UInt8], status: Int, port: Int) async throws {
        let client = try await RawHTTPClient(port: port)
        try? await client.send(bytes)  // the server may stop reading early; the answer is what counts
        let response = try await client.readResponse()
        #expect(response.status == status)
        #expect(response["Connection"] == "close")
        #expect(try await client.waitForClose())
        try await expectServed(port: port)
    }

    private func expectRefusal(_ text: String, status: Int, port: Int) async throws {
        try await expectRefusal(Array(text.utf8), status: status, port: port)
    }

    private func expectServed(port: Int) async throws {
        let fresh = try await RawHTTPClient(port: port)
        try await fresh.send("GET /fresh HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await fresh.readResponse().status == 200)
    }

    @Test func chunkedRequestBody() async throws {
        try await withHTTPServer(handler: Self.echo) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send(
                "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello world")
            #expect(response["Content-Length"] == "11")
        }
    }

    @Test func expectContinueGets100ThenTheAnswer() async throws {
        try await withHTTPServer(handler: Self.echo) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            #expect(try await client.readResponse().status == 100)
            try await client.send("data")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "data")
        }
    }

    @Test func expectContinueWithATooLargeBodyGets413() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = 1024
        try await withHTTPServer(configuration: configuration, handler: Self.echo) { _, port in
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n", status: 413, port: port)
        }
    }

    @Test func headOmitsTheBodyButKeepsItsLength() async throws {
        try await withHTTPServer { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(head: true)
            #expect(head["Content-Length"] == "7")
            #expect(head.body.isEmpty)
            #expect(try await client.readResponse().text == "GET /y")  // framing intact after HEAD
        }
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() async throws {
        try await withHTTPServer { _, port in
            let plain = try await RawHTTPClient(port: port)
            try await plain.send("GET / HTTP/1.0\r\n\r\n")
            #expect(try await plain.readResponse()["Connection"] == "close")
            #expect(try await plain.waitForClose())

            let keep = try await RawHTTPClient(port: port)
            try await keep.send("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await keep.readResponse()["Connection"] == "keep-alive")
            try await keep.send("GET /2 HTTP/1.1\r\nConnection: close\r\n\r\n")
            let last = try await keep.readResponse()
            #expect(last.text == "GET /2")
            #expect(last["Connection"] == "close")
            #expect(try await keep.waitForClose())
        }
    }

    @Test func headerOf100KBIs431() async throws {
        try await withHTTPServer { server, port in
            try await expectRefusal(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n", status: 431,
                port: port)
            #expect(server.stats.rejectedByLimit == 1)
        }
    }

    @Test func tenThousandHeadersIs431() async throws {
        try await withHTTPServer { _, port in
            let headers = (0..<10_000).map { "X-\($0): v\r\n" }.joined()
            try await expectRefusal("GET / HTTP/1.1\r\nHost: x\r\n\(headers)\r\n", status: 431, port: port)
        }
    }

    @Test func targetOver8KiBIs414() async throws {
        try await withHTTPServer { _, port in
            try await expectRefusal(
                "GET /\(String(repeating: "a", count: 10_000)) HTTP/1.1\r\nHost: x\r\n\r\n", status: 414, port: port)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = 1024
        try await withHTTPServer(configuration: configuration, handler: Self.echo) { _, port in
            let body = String(repeating: "b", count: 2048)
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n\(body)", status: 413, port: port)
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n\(body)\r\n0\r\n\r\n", status: 413,
                port: port)
        }
    }

    @Test func bytesPastAShortContentLengthAreTheNextRequest() async throws {
        try await withHTTPServer(handler: Self.echo) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloEXTRA\r\n\r\n")
            let first = try await client.readResponse()
            #expect(first.status == 200)
            #expect(first.text == "hello")
            let second = try await client.readResponse()
            #expect(second.status == 400)
            #expect(second["Connection"] == "close")
            #expect(try await client.waitForClose())
            try await expectServed(port: port)
        }
    }

    @Test func aBodyThatNeverArrivesIs408AfterTheBodyTimeout() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.bodyReadTimeout = .milliseconds(200)
        try await withHTTPServer(configuration: configuration, handler: Self.echo) { server, port in
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a little", status: 408, port: port)
            #expect(server.stats.readTimeouts == 1)
        }
    }

    @Test func framingConflictsAndGarbageAre400() async throws {
        try await withHTTPServer(handler: Self.echo) { server, port in
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                status: 400, port: port)
            try await expectRefusal(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nabc\r\n0\r\n\r\n", status: 400, port: port)
            try await expectRefusal(
                Array("GET /".utf8) + [0xC3, 0x28] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8), status: 400, port: port)
            try await expectRefusal(
                Array("GET / HTTP/1.1\r\nHost: x\r\nX-V: ".utf8) + [0xFF, 0xFE] + Array("\r\n\r\n".utf8), status: 400,
                port: port)
            try await expectRefusal(
                Array("GET / HTTP/1.1\r\nHost: x\r\nX-".utf8) + [0x80] + Array(": v\r\n\r\n".utf8), status: 400, port: port)
            try await expectRefusal("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501, port: port)
            try await expectRefusal("GET / HTTP/2.0\r\n\r\n", status: 505, port: port)
            #expect(server.stats.badRequests == 7)
        }
    }

    @Test func aClientTricklingItsHeadGets408() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.headerReadTimeout = .milliseconds(300)
        try await withHTTPServer(configuration: configuration) { _, port in
            let client = try await RawHTTPClient(port: port)
            let endless = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 100)
            var response: RawHTTPClient.Response?
            for byte in endless {
                do { try await client.send([byte]) } catch { break }  // closed by the server: stop
                if let answer = try? await client.readResponse(within: .milliseconds(100)) {
                    response = answer
                    break
                }
            }
            #expect(response?.status == 408)
            #expect(response?["Connection"] == "close")
            #expect(try await client.waitForClose())
            try await expectServed(port: port)
        }
    }

    @Test func idleKeepAliveConnectionsAreClosedSilently() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.idleTimeout = .milliseconds(200)
        try await withHTTPServer(configuration: configuration) { server, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(try await client.waitForClose())
            #expect(client.pending.isEmpty)
            #expect(server.stats.readTimeouts == 0)
        }
    }

    @Test func aSilentNewConnectionIsClosedWithoutAnAnswer() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.headerReadTimeout = .milliseconds(200)
        try await withHTTPServer(configuration: configuration) { _, port in
            let client = try await RawHTTPClient(port: port)
            #expect(try await client.waitForClose())
            #expect(client.pending.isEmpty)
        }
    }

    @Test func handlerTimeoutAnswersTheConfiguredStatus() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.handlerTimeout = .milliseconds(200)
        configuration.handlerTimeoutStatus = 504
        let handler = ClosureHandler { request in
            if request.path == "/slow" { try? await Task.sleep(for: .seconds(30)) }
            return .text("ok")
        }
        try await withHTTPServer(configuration: configuration, handler: handler) { server, port in
            try await expectRefusal("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", status: 504, port: port)
            #expect(server.stats.handlerTimeouts == 1)
        }
    }

    @Test func connectionsOverTheLimitAreRefused() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 2
        try await withHTTPServer(configuration: configuration) { server, port in
            let first = try await RawHTTPClient(port: port)
            let second = try await RawHTTPClient(port: port)
            for client in [first, second] {
                try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await client.readResponse().status == 200)
            }
            let third = try await RawHTTPClient(port: port)
            try? await third.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            // Either the 503 arrives or the close does; never a 200.
            if let response = try? await third.readResponse() { #expect(response.status == 503) }
            #expect(try await third.waitForClose())
            #expect(server.stats.rejectedConnections == 1)

            first.close()
            try await waitUntil { server.connectionCount < 2 }
            try await expectServed(port: port)
        }
    }

    @Test func aThousandIdleConnectionsDoNotStopOthersBeingServed() async throws {
        raiseOpenFileLimit(to: 4096)
        try await withHTTPServer { server, port in
            var idle: [RawHTTPClient] = []
            for _ in 0..<1000 { idle.append(try await RawHTTPClient(port: port)) }
            try await waitUntil { server.connectionCount >= 1000 }
            try await expectServed(port: port)
            // A few of the idle ones can still talk.
            for client in [idle[0], idle[499], idle[999]] {
                try await client.send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await client.readResponse().text == "GET /late")
            }
            #expect(server.stats.rejectedConnections == 0)
            idle.removeAll()
        }
    }

    @Test func responseHeadersCannotSplitTheResponse() async throws {
        let handler = ClosureHandler { _ in
            HTTPResponse(
                status: 200, headers: ["X-Good": "yes", "X-Bad": "a\r\nInjected: 1", "Content-Length": "999"],
                body: Array("body".utf8))
        }
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response["X-Good"] == "yes")
            #expect(response["X-Bad"] == nil)
            #expect(response["Injected"] == nil)
            #expect(response["Content-Length"] == "4")
            #expect(response.text == "body")
        }
    }
}

/// Polls `condition` (every 5 ms, up to 5 s): for state that changes on the server's own time.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("condition not met within 5 s")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
