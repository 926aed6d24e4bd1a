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
}
