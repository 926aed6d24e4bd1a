import Testing

@testable import KieWatchHTTP

/// Feeds `text` whole or one byte at a time; `eof` then signals the peer's close.
private func parse(
    _ text: String, byteByByte: Bool, head: Bool = false, eof: Bool = false,
    limits: HTTPClientResponseParser.Limits = .init()
) throws(HTTPClientError) -> (HTTPResponse, keepAlive: Bool)? {
    var parser = HTTPClientResponseParser(isHeadRequest: head, limits: limits)
    let bytes = Array(text.utf8)
    let pieces: [[UInt8]] = byteByByte ? bytes.map { [$0] } : [bytes]
    for piece in pieces {
        if case .complete(let response, let keepAlive) = try parser.feed(piece) { return (response, keepAlive) }
    }
    if eof { return (try parser.finish(), false) }
    return nil
}

private func error(of body: () throws(HTTPClientError) -> Void) -> HTTPClientError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPClientResponseParserTests {
    @Test(arguments: [false, true])
    func contentLength(byteByByte: Bool) throws {
        let r = try #require(
            try parse(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"code\":200}",
                byteByByte: byteByByte))
        #expect(r.0.status == 200)
        #expect(r.0.headers["content-type"] == "application/json")
        #expect(r.0.body == Array("{\"code\":200".utf8))  // exactly 11 bytes; the 12th is extra
    }

    @Test func bytesAfterTheResponseForbidReuse() throws {
        let r = try #require(try parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", byteByByte: false))
        #expect(r.0.body == [UInt8(ascii: "x")])
        #expect(r.keepAlive == false)  // the connection is out of step with its requests
    }

    @Test(arguments: [false, true])
    func contentLengthExact(byteByByte: Bool) throws {
        let r = try #require(try parse("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", byteByByte: byteByByte))
        #expect(r.0.status == 201)
        #expect(String(decoding: r.0.body, as: UTF8.self) == "ok")
        #expect(r.keepAlive)
    }

    @Test(arguments: [false, true])
    func chunked(byteByByte: Bool) throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nB\r\n, chunked!!\r\n0\r\nX-Trailer: t\r\n\r\n"
        let r = try #require(try parse(text, byteByByte: byteByByte))
        #expect(String(decoding: r.0.body, as: UTF8.self) == "hello, chunked!!")
        #expect(r.keepAlive)
    }

    @Test(arguments: [false, true])
    func closeDelimited(byteByByte: Bool) throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
        #expect(try parse(text, byteByByte: byteByByte) == nil)
        let r = try #require(try parse(text, byteByByte: byteByByte, eof: true))
        #expect(String(decoding: r.0.body, as: UTF8.self) == "until the end")
    }

    @Test(arguments: [false, true])
    func headHasNoBody(byteByByte: Bool) throws {
        let r = try #require(
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", byteByByte: byteByByte, head: true))
        #expect(r.0.body.isEmpty)
        #expect(r.0.headers["Content-Length"] == "1234")
        #expect(r.keepAlive)
    }

    @Test(arguments: [false, true])
    func noContentAndNotModified(byteByByte: Bool) throws {
        for status in [204, 304] {
            let r = try #require(try parse("HTTP/1.1 \(status) X\r\nETag: x\r\n\r\n", byteByByte: byteByByte))
            #expect(r.0.status == status)
            #expect(r.0.body.isEmpty)
            #expect(r.keepAlive)
        }
    }

    @Test(arguments: [false, true])
    func interimContinueIsSkipped(byteByByte: Bool) throws {
        let r = try #require(
            try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", byteByByte: byteByByte))
        #expect(r.0.status == 200)
        #expect(r.0.body == [UInt8(ascii: "x")])
    }

    @Test func bareLineFeedsAndNoReasonPhrase() throws {
        let r = try #require(try parse("HTTP/1.1 404\nContent-Length: 0\n\n", byteByByte: false))
        #expect(r.0.status == 404)
    }

    @Test func connectionCloseAndHTTP10() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", byteByByte: false)?.keepAlive == false)
        #expect(try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", byteByByte: false)?.keepAlive == false)
        #expect(
            try parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", byteByByte: false)?.keepAlive
                == true)
    }

    @Test(arguments: ["HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/2 200\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "\r\n\r\n"])
    func malformedStatusLine(text: String) {
        let e = error { () throws(HTTPClientError) in _ = try parse(text, byteByByte: false) }
        guard case .malformedResponse = e else {
            Issue.record("expected malformedResponse, got \(String(describing: e))")
            return
        }
    }

    @Test func malformedStatusLineMessage() {
        let e = error { () throws(HTTPClientError) in _ = try parse("HTTP/1.1 2x0 OK\r\n\r\n", byteByByte: false) }
        #expect(e == .malformedResponse("bad status code"))
        let e2 = error { () throws(HTTPClientError) in _ = try parse("HTTP/2 200\r\n\r\n", byteByByte: false) }
        #expect(e2 == .malformedResponse("bad status line 'HTTP/2 200'"))
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        "HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ])
    func malformedFraming(text: String) {
        let e = error { () throws(HTTPClientError) in _ = try parse(text, byteByByte: true) }
        guard case .malformedResponse = e else {
            Issue.record("expected malformedResponse, got \(String(describing: e))")
            return
        }
    }

    @Test(arguments: [false, true])
    func oversizedHeaders(byteByByte: Bool) {
        let limits = HTTPClientResponseParser.Limits(maxHeaderBytes: 64, maxBodyBytes: 1024)
        let text = "HTTP/1.1 200 OK\r\nX-Big: \(String(repeating: "a", count: 100))\r\nContent-Length: 0\r\n\r\n"
        let e = error { () throws(HTTPClientError) in _ = try parse(text, byteByByte: byteByByte, limits: limits) }
        #expect(e == .responseTooLarge)
    }

    @Test func oversizedBodies() {
        let limits = HTTPClientResponseParser.Limits(maxHeaderBytes: 1024, maxBodyBytes: 4)
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\r\nhello",
        ] {
            let e = error { () throws(HTTPClientError) in _ = try parse(text, byteByByte: false, eof: true, limits: limits) }
            #expect(e == .responseTooLarge, "\(text)")
        }
    }

    @Test func eofBeforeAndInsideTheResponse() {
        var empty = HTTPClientResponseParser()
        #expect(error { () throws(HTTPClientError) in _ = try empty.finish() } == .connectionReset)
        #expect(empty.bytesReceived == 0)
        let e = error { () throws(HTTPClientError) in
            _ = try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", byteByByte: false, eof: true)
        }
        #expect(e == .connectionReset)
    }

    /// Mutated and truncated responses must end in a result or an error, never a trap.
    @Test func arbitraryBytesNeverTrap() {
        let seeds = [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 204 No\r\n\r\n",
        ].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 42)
        for round in 0..<3000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                default: bytes.removeSubrange(i..<min(bytes.count, i + Int(rng.next() % 8)))
                }
                if bytes.isEmpty { bytes = [0] }
            }
            var parser = HTTPClientResponseParser(limits: .init(maxHeaderBytes: 256, maxBodyBytes: 256))
            let split = Int(rng.next() % UInt64(bytes.count + 1))
            _ = try? parser.feed(Array(bytes[..<split]))
            _ = try? parser.feed(Array(bytes[split...]))
            _ = try? parser.finish()
        }
    }
}

/// A tiny deterministic generator so the mutation test is reproducible.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HTTPClientResponseParserStreamingTests {
    /// Feeds `text` in pieces of `size` bytes, taking the body as it is decoded.
    func stream(_ text: String, size: Int, eof: Bool = false, when decide: @escaping @Sendable (Int, HTTPHeaders) -> Bool)
        throws(HTTPClientError) -> (pieces: [[UInt8]], streaming: Bool, complete: Bool)
    {
        var parser = HTTPClientResponseParser(limits: .init(maxHeaderBytes: 1024, maxBodyBytes: 8), streamWhen: decide)
        let bytes = Array(text.utf8)
        var pieces: [[UInt8]] = []
        var complete = false
        for start in stride(from: 0, to: bytes.count, by: size) {
            let progress = try parser.feed(Array(bytes[start..<min(start + size, bytes.count)]))
            if case .complete(let response, _) = progress {
                pieces.append(response.body)
                complete = true
                break
            }
            let piece = parser.takeBody()
            if !piece.isEmpty { pieces.append(piece) }
        }
        if eof, !complete {
            pieces.append(try parser.finish().body)
            complete = true
        }
        return (pieces.filter { !$0.isEmpty }, parser.isStreaming, complete)
    }

    static let chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "a\r\ndata: one\n\r\na\r\ndata: two\n\r\n0\r\n\r\n"

    @Test(arguments: [1, 7, 4096])
    func aStreamedBodyComesOutAsItIsDecodedPastTheBodyLimit(size: Int) throws {
        let out = try stream(Self.chunked, size: size, when: { status, headers in
            status == 200 && headers["Content-Type"] == "text/event-stream"
        })
        #expect(out.streaming && out.complete)
        #expect(out.pieces.flatMap { $0 } == Array("data: one\ndata: two\n".utf8))
        if size == 1 { #expect(out.pieces.count == 20) }
    }

    @Test func lengthAndCloseFramedBodiesStreamToo() throws {
        let fixed = try stream("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!", size: 3, when: { _, _ in true })
        #expect(fixed.complete && fixed.pieces.flatMap { $0 } == Array("hello world!".utf8))
        let untilClose = try stream("HTTP/1.1 200 OK\r\n\r\nhello world!", size: 5, eof: true, when: { _, _ in true })
        #expect(untilClose.complete && untilClose.pieces.flatMap { $0 } == Array("hello world!".utf8))
    }

    @Test func withoutStreamingTheBodyLimitHolds() {
        #expect(throws: HTTPClientError.responseTooLarge) {
            _ = try stream(Self.chunked, size: 4096, when: { _, _ in false })
        }
    }
}
