import KieWatchHTTP
import KieWatchTestSupport
import Testing

/// A client that goes away while a streamed body waits for its producer (a chat answer the
/// upstream is still thinking about) is noticed at its hang-up, not at the producer's next piece.
@Suite struct HTTPServerStreamingHangUpTests {
    @Test func aClientThatLeavesWhileTheProducerIsSilentReleasesItAtOnce() async throws {
        let handler = HTTPServerStreamingTests.GatedStream()  // never released: no next piece
        var configuration = HTTPServer.Configuration()
        configuration.handlerTimeout = .seconds(600)
        try await withHTTPServer(configuration: configuration, handler: handler) { _, port in
            let client = try await RawHTTPClient(port: port)
            try await client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.waitForBytes("first\n"))
            client.close()
            // Either the server drops the producer, or the test gives up long before the
            // handler timeout would have.
            let released = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in handler.terminated { return true }
                    return false
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            #expect(released)
        }
    }
}
