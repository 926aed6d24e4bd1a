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

struct ResponseWriterStreamingTests {
    private let streamed = HTTPResponse(status: 200, body: Array("hi".utf8), bodyStream: HTTPBodyStream.makeStream().stream)

    @Test func aStreamedBodyIsChunkedWithItsFirstBytesAsTheFirstChunk() {
        let text = String(decoding: ResponseWriter.serialize(streamed, includeBody: true, keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n")
        #expect(ResponseWriter.streaming(streamed, includeBody: true, requestVersion: "HTTP/1.1") == .chunked)
    }

    @Test func toAnHTTP10ClientAStreamedBodyIsUnframedAndClosesTheConnection() {
        let text = String(
            decoding: ResponseWriter.serialize(streamed, includeBody: true, keepAlive: true, requestVersion: "HTTP/1.0"),
            as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhi")
        #expect(ResponseWriter.streaming(streamed, includeBody: true, requestVersion: "HTTP/1.0") == .untilClose)
    }

    @Test func chunksAreFramedInHexAndAnEmptyOneIsNotSent() {
        #expect(ResponseWriter.chunk(Array(repeating: 0x61, count: 26)) == Array("1a\r\n\(String(repeating: "a", count: 26))\r\n".utf8))
        #expect(ResponseWriter.chunk([]).isEmpty)
        #expect(ResponseWriter.lastChunk == Array("0\r\n\r\n".utf8))
        #expect(ResponseWriter.streaming(streamed, includeBody: false, requestVersion: "HTTP/1.1") == .none)
        let noContent = HTTPResponse(status: 204, bodyStream: HTTPBodyStream.makeStream().stream)
        #expect(ResponseWriter.streaming(noContent, includeBody: true, requestVersion: "HTTP/1.1") == .none)
    }
}
