import Testing

@testable import KieWatchHTTP

struct ResponseWriterTests {
    private func head(_ response: HTTPResponse, includeBody: Bool = true, keepAlive: Bool = true) -> String {
        String(decoding: ResponseWriter.serialize(response, includeBody: includeBody, keepAlive: keepAlive), as: UTF8.self)
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, 1_000, 12_345, 1_048_576])
    func contentLengthIsTheBodysByteCount(count: Int) {
        let text = head(HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: count)))
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\nContent-Length: \(count)\r\n"))
        #expect(text.hasSuffix("\r\n\r\n" + String(repeating: "a", count: count)))
    }

    @Test(arguments: [(200, "OK"), (401, "Unauthorized"), (413, "Content Too Large"), (503, "Service Unavailable")])
    func statusLineCarriesCodeAndReason(status: Int, reason: String) {
        #expect(head(HTTPResponse(status: status)).hasPrefix("HTTP/1.1 \(status) \(reason)\r\n"))
    }

    @Test func anOutOfRangeStatusBecomes500AndHandlerFramingIsReplaced() {
        var response = HTTPResponse(status: 1_000, body: Array("x".utf8))
        response.headers.add("Content-Length", "99")
        response.headers.add("Transfer-Encoding", "chunked")
        response.headers.add("X-Split", "a\r\nInjected: yes")
        let text = head(response, keepAlive: false)
        #expect(text == "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
    }

    @Test func noBodyFramingForAHeadOr204() {
        #expect(head(HTTPResponse(status: 204)) == "HTTP/1.1 204 No Content\r\n\r\n")
        let text = head(HTTPResponse(status: 200, body: Array("hello".utf8)), includeBody: false)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    }
}
