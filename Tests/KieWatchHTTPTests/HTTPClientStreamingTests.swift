import Dispatch
import Foundation
import KieWatchHTTP
import KieWatchTestSupport
import Synchronization
import Testing

/// `send(_:timeout:streamWhen:)`: a streamed body arrives piece by piece, as the server sends
/// it, over both transports.
@Suite struct HTTPClientStreamingTests {
    typealias GatedUpstream = GatedStreamServer
    static let sseHead = GatedStreamServer.sseHead
    static func chunk(_ text: String) -> String { GatedStreamServer.chunk(text) }

    /// Reads the stream until `needle` has arrived; the bytes so far.
    static func read(
        _ iterator: inout HTTPBodyStream.Chunks.AsyncIterator, into received: inout [UInt8], until needle: String
    ) async throws {
        while String(decoding: received, as: UTF8.self).range(of: needle) == nil {
            guard let piece = try await iterator.next() else { return }
            received += piece
        }
    }

    static let transports: [String] = ["socket", "urlsession"]

    static func transport(_ name: String) -> any HTTPTransport {
        name == "socket" ? HTTPClient() : URLSessionTransport()
    }

    @Test(arguments: transports)
    func theFirstEventArrivesBeforeTheUpstreamSendsTheRest(transport name: String) async throws {
        let upstream = try GatedUpstream(
            head: Self.sseHead, first: Self.chunk("data: one\n\n"), rest: Self.chunk("data: two\n\n") + "0\r\n\r\n")
        defer { upstream.stop() }
        let client = Self.transport(name)
        let response = try await client.send(
            try HTTPClientRequest(url: "http://127.0.0.1:\(upstream.port)/stream"), timeout: .seconds(10), streamWhen: { _, _ in true })
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/event-stream")
        let stream = try #require(response.bodyStream)
        var iterator = stream.chunks.makeAsyncIterator()
        var received = response.body
        try await Self.read(&iterator, into: &received, until: "data: one\n\n")
        #expect(String(decoding: received, as: UTF8.self) == "data: one\n\n")
        #expect(upstream.release(), "the first event came only after the upstream sent the rest")
        while let piece = try await iterator.next() { received += piece }
        #expect(String(decoding: received, as: UTF8.self) == "data: one\n\ndata: two\n\n")
        if let socket = client as? HTTPClient {
            #expect(socket.idleConnectionCount(host: "127.0.0.1", port: upstream.port) == 1, "a complete body frees its connection")
        }
    }

    @Test(arguments: transports)
    func aBodyUntilCloseStreamsToItsEnd(transport name: String) async throws {
        let upstream = try GatedUpstream(
            head: "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n", first: "{\"n\":1}\n", rest: "{\"n\":2}\n",
            closeAfter: true)
        defer { upstream.stop() }
        let response = try await Self.transport(name).send(
            try HTTPClientRequest(url: "http://127.0.0.1:\(upstream.port)/stream"), timeout: .seconds(10), streamWhen: { _, headers in headers["Content-Length"] == nil })
        var iterator = try #require(response.bodyStream).chunks.makeAsyncIterator()
        var received = response.body
        try await Self.read(&iterator, into: &received, until: "{\"n\":1}\n")
        #expect(upstream.release())
        while let piece = try await iterator.next() { received += piece }
        #expect(String(decoding: received, as: UTF8.self) == "{\"n\":1}\n{\"n\":2}\n")
    }

    @Test(arguments: transports)
    func anUpstreamThatBreaksOffMidStreamIsAnError(transport name: String) async throws {
        let upstream = try GatedUpstream(
            head: Self.sseHead, first: Self.chunk("data: one\n\n"), rest: Self.chunk("data: tw"), closeAfter: true)
        defer { upstream.stop() }
        let client = Self.transport(name)
        let response = try await client.send(
            try HTTPClientRequest(url: "http://127.0.0.1:\(upstream.port)/stream"), timeout: .seconds(10), streamWhen: { _, _ in true })
        var iterator = try #require(response.bodyStream).chunks.makeAsyncIterator()
        var received = response.body
        try await Self.read(&iterator, into: &received, until: "data: one\n\n")
        _ = upstream.release()
        await #expect(throws: HTTPClientError.self) {
            while try await iterator.next() != nil {}
        }
        if let socket = client as? HTTPClient {
            #expect(socket.idleConnectionCount(host: "127.0.0.1", port: upstream.port) == 0)
        }
    }

    @Test(arguments: transports)
    func whatIsNotStreamedComesWhole(transport name: String) async throws {
        let upstream = try GatedUpstream(
            head: Self.sseHead, first: Self.chunk("data: one\n\n"), rest: Self.chunk("data: two\n\n") + "0\r\n\r\n")
        defer { upstream.stop() }
        _ = upstream.release()
        let response = try await Self.transport(name).send(
            try HTTPClientRequest(url: "http://127.0.0.1:\(upstream.port)/stream"), timeout: .seconds(10), streamWhen: { _, _ in false })
        #expect(response.bodyStream == nil)
        #expect(String(decoding: response.body, as: UTF8.self) == "data: one\n\ndata: two\n\n")
    }

    /// A streamed body may run longer than the response size limit; what one read leaves
    /// buffered is what is bounded.
    @Test func aStreamedBodyIsNotBoundByTheWholeBodyLimit() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.maxResponseBodyBytes = 1024
        let event = Self.chunk(String(repeating: "x", count: 600))
        let upstream = try GatedUpstream(head: Self.sseHead, first: event, rest: event + event + "0\r\n\r\n")
        defer { upstream.stop() }
        let response = try await HTTPClient(configuration: configuration).send(
            try HTTPClientRequest(url: "http://127.0.0.1:\(upstream.port)/stream"), timeout: .seconds(10),
            streamWhen: { _, _ in true })
        var iterator = try #require(response.bodyStream).chunks.makeAsyncIterator()
        var received = response.body
        try await Self.read(&iterator, into: &received, until: String(repeating: "x", count: 600))
        _ = upstream.release()
        while let piece = try await iterator.next() { received += piece }
        let total = received.count
        #expect(total == 1800)
    }
}
