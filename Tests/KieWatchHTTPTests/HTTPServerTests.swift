import Foundation
import KieWatchHTTP
import KieWatchTestSupport
import Testing

/// Loopback tests against a real server on an ephemeral port: the happy paths.
@Suite(.serialized)
struct HTTPServerTests {
    @Test func keepAliveServesTwoRequestsOnOneConnection() async throws {
        try await withHTTPServer { server, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try await client.readResponse()
            #expect(first.status == 200)
            #expect(first.text == "GET /one")
            #expect(first["Content-Length"] == "8")
            #expect(first["Connection"] == nil)
            try await client.send("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            let second = try await client.readResponse()
            #expect(second.text == "POST /two")
            #expect(server.stats.acceptedConnections == 1)
            #expect(server.stats.requestsServed == 2)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withHTTPServer { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send(
                "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "GET /a")
            #expect(try await client.readResponse().text == "POST /b")
            #expect(try await client.readResponse().text == "GET /c")
        }
    }

    @Test func severalEventLoopsShareTheConnections() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.eventLoopCount = 3
        try await withHTTPServer(configuration: configuration) { server, port in
            var clients: [RawHTTPClient] = []
            for _ in 0..<6 { clients.append(try await RawHTTPClient(port: port)) }
            for round in 0..<3 {
                for (index, client) in clients.enumerated() {
                    try await client.send("GET /\(index)/\(round) HTTP/1.1\r\nHost: x\r\n\r\n")
                }
                for (index, client) in clients.enumerated() {
                    #expect(try await client.readResponse().text == "GET /\(index)/\(round)")
                }
            }
            #expect(server.stats.requestsServed == 18)
            #expect(server.connectionCount == 6)
        }
    }

    @Test func theHandlerSeesThePeerAddressAndBody() async throws {
        let handler = ClosureHandler { request in
            .text("\(request.remoteAddress?.hasPrefix("127.0.0.1:") == true) \(request.body.count) \(request.queryItem("q") ?? "-")")
        }
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("PUT /x?q=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz")
            #expect(try await client.readResponse().text == "true 3 a b")
        }
    }
}

/// A client that writes its request and its FIN together gets the answer and then the close at
/// once, not at the idle timeout: the FIN came in the same readiness event as the request, and
/// edge-triggered epoll reports no second one.
@Suite(.serialized)
struct HTTPServerHalfCloseTests {
    /// `/hold` blocks the (single) event loop inline until `release`, so whatever a second
    /// client sends meanwhile, bytes and FIN, reaches the server in one event.
    final class LoopHolder: HTTPHandler, Sendable {
        let entered = AsyncStream<Void>.makeStream()
        let release = DispatchSemaphore(value: 0)

        func handleInline(_ request: HTTPRequest, responder: InlineResponder) -> Bool {
            guard request.path == "/hold" else { return false }
            entered.continuation.yield()
            release.wait()
            responder.respond(.text("held"))
            return true
        }

        func handle(_ request: HTTPRequest) async -> HTTPResponse { .text("\(request.method) \(request.path)") }
    }

    static var configuration: HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration()
        configuration.idleTimeout = .seconds(30)  // far beyond the clients' 5 s patience
        return configuration
    }

    /// Sends `requests` and the FIN while the loop is held, then lets the loop go.
    static func sendWithFINWhileTheLoopIsHeld(_ requests: String, port: Int, holder: LoopHolder) async throws
        -> RawHTTPClient
    {
        let holding = try await RawHTTPClient(port: port)
        try await holding.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        var entered = holder.entered.stream.makeAsyncIterator()
        _ = await entered.next()
        let client = try await RawHTTPClient(port: port, timeout: .seconds(5))
        try await client.send(requests)
        client.finishSending()
        holder.release.signal()
        #expect(try await holding.readResponse().text == "held")
        return client
    }

    @Test func aRequestAndItsFINInOneEventAreAnsweredThenClosed() async throws {
        let holder = LoopHolder()
        try await withHTTPServer(configuration: Self.configuration, handler: holder) { server, port in
            let client = try await Self.sendWithFINWhileTheLoopIsHeld(
                "GET /last HTTP/1.1\r\nHost: x\r\n\r\n", port: port, holder: holder)
            let response = try await client.readResponse()
            #expect(response.text == "GET /last")
            #expect(response["Connection"] == "close")
            #expect(try await client.waitForClose(), "closed at once, not after the 30 s idle timeout")
            #expect(client.pending.isEmpty)
            try await waitUntil { server.connectionCount == 0 }  // the holding client has gone too
        }
    }

    @Test func pipelinedRequestsBeforeTheFINAreAllAnsweredThenClosed() async throws {
        let holder = LoopHolder()
        try await withHTTPServer(configuration: Self.configuration, handler: holder) { _, port in
            let client = try await Self.sendWithFINWhileTheLoopIsHeld(
                "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
                port: port, holder: holder)
            #expect(try await client.readResponse().text == "GET /a")
            let last = try await client.readResponse()
            #expect(last.text == "POST /b")
            #expect(last["Connection"] == "close")
            #expect(try await client.waitForClose())
        }
    }

    @Test func aHalfSentRequestAndAFINAreClosedWithoutAnAnswer() async throws {
        let holder = LoopHolder()
        try await withHTTPServer(configuration: Self.configuration, handler: holder) { server, port in
            let client = try await Self.sendWithFINWhileTheLoopIsHeld(
                "POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", port: port, holder: holder)
            #expect(try await client.waitForClose())
            #expect(client.pending.isEmpty)
            #expect(server.stats.requestsServed == 1)  // the holding client's only
        }
    }
}

/// Answers `/inline*` through `handleInline`: at once, from another thread later, or never
/// (`/inline-never`); everything else through `handle`.
private struct InlineHandler: HTTPHandler {
    func handleInline(_ request: HTTPRequest, responder: InlineResponder) -> Bool {
        switch request.path {
        case "/inline-now":
            responder.respond(.text("now \(request.method)"))
        case "/inline-later":
            let body = request.body
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) {
                responder.respond(after: { .text("later \(body.count)") })
            }
        case "/inline-never":
            break
        default:
            return false
        }
        return true
    }

    func handle(_ request: HTTPRequest) async -> HTTPResponse { .text("task \(request.path)") }
}

@Suite(.serialized)
struct HTTPServerInlineHandlerTests {
    @Test func inlineAnswersKeepTheConnectionAndItsOrder() async throws {
        try await withHTTPServer(handler: InlineHandler()) { server, port in
            let client = try await RawHTTPClient(port: port)
            // Pipelined: a late inline answer, then a task-handled request, then an immediate one.
            try await client.send(
                "POST /inline-later HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /other HTTP/1.1\r\nHost: x\r\n\r\nGET /inline-now HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "later 3")
            #expect(try await client.readResponse().text == "task /other")
            #expect(try await client.readResponse().text == "now GET")
            #expect(server.stats.requestsServed == 3)
            #expect(server.stats.acceptedConnections == 1)
        }
    }

    @Test func anInlineHandlerThatNeverAnswersGetsTheHandlerTimeout() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.handlerTimeout = .milliseconds(200)
        configuration.handlerTimeoutStatus = 504
        try await withHTTPServer(configuration: configuration, handler: InlineHandler()) { server, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /inline-never HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 504)
            #expect(server.stats.handlerTimeouts == 1)
        }
    }
}
