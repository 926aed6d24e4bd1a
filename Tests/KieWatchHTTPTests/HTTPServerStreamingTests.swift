import Foundation
import KieWatchHTTP
import KieWatchTestSupport
import Synchronization
import Testing

/// Responses whose body is produced while it is sent (`HTTPBodyStream`), over real sockets.
@Suite(.serialized)
struct HTTPServerStreamingTests {
    /// A handler whose `/stream` answer sends "first" at once, then waits for `release()` to
    /// send "second" and end (or fail, when `fail` is set); other paths answer plainly.
    final class GatedStream: HTTPHandler {
        let gate: AsyncStream<Void>
        let opener: AsyncStream<Void>.Continuation
        let terminated: AsyncStream<Void>
        private let terminatedContinuation: AsyncStream<Void>.Continuation
        let fail: Bool

        init(fail: Bool = false) {
            (gate, opener) = AsyncStream.makeStream()
            (terminated, terminatedContinuation) = AsyncStream.makeStream()
            self.fail = fail
        }

        func release() { opener.yield() }

        func handle(_ request: HTTPRequest) async -> HTTPResponse {
            if request.path == "/endless" {
                // Chunks made on demand, forever; the witness goes when the server drops the producer.
                let witness = Witness(terminatedContinuation)
                return HTTPResponse(status: 200, bodyStream: HTTPBodyStream(unfolding: {
                    _ = witness
                    return Array("tick\n".utf8)
                }))
            }
            guard request.path == "/stream" else { return .text("plain \(request.path)") }
            let (stream, continuation) = HTTPBodyStream.makeStream()
            let done = terminatedContinuation
            continuation.onTermination = { _ in done.yield() }
            let gate = gate
            let fail = fail
            Task {
                continuation.yield(Array("first\n".utf8))
                for await _ in gate { break }
                if fail {
                    continuation.finish(throwing: CancellationError())
                    return
                }
                continuation.yield(Array("second\n".utf8))
                continuation.finish()
            }
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "text/event-stream"], body: Array("head\n".utf8), bodyStream: stream)
        }
    }

    /// Signals when the producer that holds it is released.
    final class Witness: Sendable {
        let released: AsyncStream<Void>.Continuation
        init(_ released: AsyncStream<Void>.Continuation) { self.released = released }
        deinit { released.yield() }
    }

    @Test func aStreamedBodyIsSentChunkedAsItIsProducedAndTheConnectionStaysUsable() async throws {
        let handler = GatedStream()
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            // The first chunk arrives while the producer still holds the second back.
            #expect(try await client.waitForBytes("first\n"))
            let early = String(decoding: client.pending, as: UTF8.self)
            #expect(early.contains("Transfer-Encoding: chunked\r\n"))
            #expect(!early.contains("Content-Length"))
            #expect(early.hasSuffix("5\r\nhead\n\r\n6\r\nfirst\n\r\n"))
            handler.release()
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response["Content-Type"] == "text/event-stream")
            #expect(response.text == "head\nfirst\nsecond\n")
            try await client.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "plain /after")
        }
    }

    @Test func anHTTP10ClientGetsTheBytesUnframedAndTheConnectionCloses() async throws {
        let handler = GatedStream()
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /stream HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await client.waitForBytes("first\n"))
            handler.release()
            let response = try await client.readResponse()
            #expect(response["Transfer-Encoding"] == nil && response["Content-Length"] == nil)
            #expect(response["Connection"] == "close")
            #expect(response.text == "head\nfirst\nsecond\n")
            #expect(client.isClosedByPeer)
        }
    }

    @Test func aProducerThatFailsEndsTheConnectionWithoutTheLastChunk() async throws {
        let handler = GatedStream(fail: true)
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.waitForBytes("first\n"))
            handler.release()
            #expect(try await client.waitForClose())
            #expect(String(decoding: client.pending, as: UTF8.self).hasSuffix("6\r\nfirst\n\r\n"))  // no "0\r\n\r\n"
        }
    }

    @Test func aClientThatLeavesMidStreamStopsTheProducer() async throws {
        let handler = GatedStream()
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.waitForBytes("tick\n"))
            client.close()
            var released = false
            for await _ in handler.terminated {  // the server dropped the producer
                released = true
                break
            }
            #expect(released)
        }
    }

    @Test func aProducerSilentPastTheHandlerTimeoutIsCutOff() async throws {
        let handler = GatedStream()  // never released
        var configuration = HTTPServer.Configuration()
        configuration.handlerTimeout = .milliseconds(300)
        try await withHTTPServer(configuration: configuration, handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.waitForBytes("first\n"))
            #expect(try await client.waitForClose())
            #expect(String(decoding: client.pending, as: UTF8.self).hasSuffix("6\r\nfirst\n\r\n"))
        }
    }

    @Test func aHeadRequestGetsTheHeadOnly() async throws {
        let handler = GatedStream()
        try await withHTTPServer(handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse(head: true)
            #expect(response.status == 200)
            #expect(response["Transfer-Encoding"] == "chunked")
            try await client.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "plain /next")
        }
    }
}
