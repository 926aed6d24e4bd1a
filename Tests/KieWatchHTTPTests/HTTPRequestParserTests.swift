import KieWatchHTTP
import Testing

/// What a test compares: a request reduced to plain values.
private struct Parsed: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var headers: [String]
    var body: String
    var keepAlive: Bool

    init(_ request: HTTPRequest) {
        method = request.method
        target = request.target
        version = request.version
        headers = request.headers.map { "\($0.name): \($0.value)" }
        body = String(decoding: request.body, as: UTF8.self)
        keepAlive = request.keepAlive
    }

    init(_ method: String, _ target: String, _ version: String = "HTTP/1.1", headers: [String] = [], body: String = "",
         keepAlive: Bool = true) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    var description: String { "\(method) \(target) \(version) \(headers) body=\(body)" }
}

private enum Outcome: Equatable {
    case request(Parsed)
    case expectContinue
    case error(HTTPParseError)
}

/// Feeds `input` whole, or one byte at a time, calling `next()` after every append until the
/// parser wants more; returns everything it reported (a failed parser is asked only once).
private func parse(_ input: [UInt8], limits: HTTPRequestParser.Limits = .init(), byteByByte: Bool) -> [Outcome] {
    var parser = HTTPRequestParser(limits: limits)
    var outcomes: [Outcome] = []
    let pieces: [[UInt8]] = byteByByte ? input.map { [$0] } : [input]
    for piece in pieces {
        parser.append(piece)
        loop: while true {
            switch parser.next() {
            case .needMore: break loop
            case .expectContinue: outcomes.append(.expectContinue)
            case .request(let request): outcomes.append(.request(Parsed(request)))
            case .error(let error):
                outcomes.append(.error(error))
                return outcomes
            }
        }
    }
    return outcomes
}

private func parse(_ text: String, limits: HTTPRequestParser.Limits = .init(), byteByByte: Bool) -> [Outcome] {
    parse(Array(text.utf8), limits: limits, byteByByte: byteByByte)
}

private let small = HTTPRequestParser.Limits(maxHeaderBytes: 256, maxHeaderCount: 4, maxTargetBytes: 32, maxBodyBytes: 16)

@Suite struct HTTPRequestParserTests {
    // MARK: Well-formed requests, fed whole and one byte at a time

    @Test(arguments: [false, true])
    func simpleGet(byteByByte: Bool) {
        let outcomes = parse("GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n", byteByByte: byteByByte)
        #expect(outcomes == [.request(Parsed("GET", "/metrics?x=1", headers: ["Host: localhost", "Accept: */*"]))])
    }

    @Test(arguments: [false, true])
    func headerValuesAreTrimmedAndOrderAndRepetitionKept(byteByByte: Bool) {
        let outcomes = parse(
            "GET / HTTP/1.1\r\nX-A:  one \t\r\nx-b:two\r\nX-A: three\r\nEmpty:\r\n\r\n", byteByByte: byteByByte)
        #expect(outcomes == [.request(Parsed("GET", "/", headers: ["X-A: one", "x-b: two", "X-A: three", "Empty: "]))])
    }

    @Test(arguments: [false, true])
    func contentLengthBody(byteByByte: Bool) {
        let outcomes = parse("POST /webhooks/kie HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", byteByByte: byteByByte)
        #expect(outcomes == [.request(Parsed("POST", "/webhooks/kie", headers: ["Content-Length: 11"], body: "hello world"))])
    }

    @Test(arguments: ["0005", " 5 ", "5", "5, 5"])
    func contentLengthInEveryAcceptedSpelling(value: String) {
        let outcomes = parse("POST / HTTP/1.1\r\ncontent-LENGTH: \(value)\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", byteByByte: false)
        #expect(outcomes.count == 2)
        if case .request(let request) = outcomes.first { #expect(request.body == "hello") }
    }

    @Test(arguments: [false, true])
    func repeatedIdenticalContentLengthIsAccepted(byteByByte: Bool) {
        let outcomes = parse(
            "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", byteByByte: byteByByte)
        #expect(outcomes.count == 1)
        if case .request(let request) = outcomes.first { #expect(request.body == "abc") }
    }

    @Test(arguments: [false, true])
    func chunkedBodyWithExtensionsAndTrailers(byteByByte: Bool) {
        let input = "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "6 ; ext\r\n world\r\n"
            + "A\r\n0123456789\r\n"
            + "0\r\nX-Trailer: ignored\r\nChecksum: 1\r\n\r\n"
        let outcomes = parse(input, byteByByte: byteByByte)
        #expect(outcomes == [
            .request(Parsed("POST", "/upload", headers: ["Transfer-Encoding: chunked"], body: "hello world0123456789"))
        ])
    }

    @Test(arguments: [false, true])
    func chunkedTransferEncodingIsCaseInsensitive(byteByByte: Bool) {
        let outcomes = parse(
            "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", byteByByte: byteByByte)
        #expect(outcomes.count == 1)
    }

    @Test(arguments: [false, true])
    func pipelinedRequestsComeOutInOrder(byteByByte: Bool) {
        let outcomes = parse(
            "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n",
            byteByByte: byteByByte)
        #expect(outcomes == [
            .request(Parsed("GET", "/a")),
            .request(Parsed("POST", "/b", headers: ["Content-Length: 2"], body: "hi")),
            .request(Parsed("GET", "/c")),
        ])
    }

    @Test func parserStopsAfterEachRequestAndKeepsTheRest() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET /a HTTP/1.1\r\n\r\nGET /b HT".utf8))
        guard case .request(let first) = parser.next() else {
            Issue.record("expected a request")
            return
        }
        #expect(first.target == "/a")
        #expect(parser.bufferedByteCount == 9)
        #expect(parser.phase == .head)
        guard case .needMore = parser.next() else {
            Issue.record("expected needMore")
            return
        }
        parser.append(Array("TP/1.1\r\n\r\n".utf8))
        guard case .request(let second) = parser.next() else {
            Issue.record("expected a request")
            return
        }
        #expect(second.target == "/b")
        #expect(parser.phase == .idle)
    }

    @Test(arguments: [false, true])
    func emptyLinesBeforeTheRequestLineAreIgnored(byteByByte: Bool) {
        #expect(parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n", byteByByte: byteByByte) == [.request(Parsed("GET", "/"))])
    }

    @Test func keepAliveRules() {
        let cases: [(String, Bool)] = [
            ("GET / HTTP/1.1\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ]
        for (input, keepAlive) in cases {
            guard case .request(let request) = parse(input, byteByByte: false).first else {
                Issue.record("no request for \(input)")
                continue
            }
            #expect(request.keepAlive == keepAlive, "\(input)")
        }
    }

    @Test func absoluteAndAsteriskTargetsAreAccepted() {
        #expect(parse("GET http://api.kie.ai/x HTTP/1.1\r\n\r\n", byteByByte: false)
            == [.request(Parsed("GET", "http://api.kie.ai/x"))])
        #expect(parse("OPTIONS * HTTP/1.1\r\n\r\n", byteByByte: false) == [.request(Parsed("OPTIONS", "*"))])
    }

    @Test func utf8HeaderValuesAreAccepted() {
        let outcomes = parse(Array("GET / HTTP/1.1\r\nX-Name: caf\u{e9} \u{1F3AC}\r\n\r\n".utf8), byteByByte: true)
        #expect(outcomes == [.request(Parsed("GET", "/", headers: ["X-Name: caf\u{e9} \u{1F3AC}"]))])
    }

    // MARK: Expect: 100-continue

    @Test func expectContinueIsReportedBeforeTheBody() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        guard case .expectContinue = parser.next() else {
            Issue.record("expected expectContinue")
            return
        }
        guard case .needMore = parser.next() else {
            Issue.record("expected needMore")
            return
        }
        #expect(parser.phase == .body)
        parser.append(Array("data".utf8))
        guard case .request(let request) = parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.body == Array("data".utf8))
    }

    @Test func expectContinueIsSkippedWhenTheBodyIsAlreadyThere() {
        let outcomes = parse(
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata", byteByByte: false)
        #expect(outcomes.count == 1)
        if case .request(let request) = outcomes.first { #expect(request.body == "data") }
    }

    @Test func expectContinueWithABodyOverTheLimitIs413NotContinue() {
        let outcomes = parse(
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n", limits: small, byteByByte: false)
        #expect(outcomes == [.error(.bodyTooLarge)])
    }

    @Test func unknownExpectationIs417() {
        #expect(parse("POST / HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", byteByByte: false)
            == [.error(.expectationFailed)])
        #expect(HTTPParseError.expectationFailed.status == 417)
    }

    // MARK: Refusals: each input, whole and byte by byte, gives exactly this error

    static let refusals: [(String, HTTPParseError)] = [
        // Framing (request smuggling)
        ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", .bodyTooLarge),
        ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .invalidTransferEncoding),
        // Chunks
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 5\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", .bodyTooLarge),
        // Header syntax
        ("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nX A: b\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\n: b\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nno colon here\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nX-A: a\u{01}b\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nX-A: a\u{7F}b\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: x\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHosts),
        // Request line
        ("GET  / HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1 \r\n\r\n", .invalidRequestLine),
        ("GET /\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1x\r\n\r\n", .invalidRequestLine),
        ("GET / http/1.1\r\n\r\n", .invalidRequestLine),
        ("G(T / HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET relative HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET /caf\u{e9} HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/0.9\r\n\r\n", .unsupportedVersion),
    ]

    @Test(arguments: refusals)
    func refusedWhole(input: String, error: HTTPParseError) {
        #expect(parse(input, byteByByte: false) == [.error(error)], "\(input.debugDescription)")
    }

    @Test(arguments: refusals)
    func refusedByteByByte(input: String, error: HTTPParseError) {
        #expect(parse(input, byteByByte: true) == [.error(error)], "\(input.debugDescription)")
    }

    @Test(arguments: [false, true])
    func nonUTF8BytesInTheRequestLineOrHeaders(byteByByte: Bool) {
        let head = Array("GET / HTTP/1.1\r\n".utf8)
        #expect(parse(Array("GET /".utf8) + [0xFF, 0xFE] + Array(" HTTP/1.1\r\n\r\n".utf8), byteByByte: byteByByte)
            == [.error(.invalidRequestLine)])
        #expect(parse(head + Array("X-".utf8) + [0xC3, 0x28] + Array(": v\r\n\r\n".utf8), byteByByte: byteByByte)
            == [.error(.invalidHeaderName)])
        #expect(parse(head + Array("X-A: ".utf8) + [0xC3, 0x28] + Array("\r\n\r\n".utf8), byteByByte: byteByByte)
            == [.error(.invalidHeaderValue)])
        #expect(parse(head + Array("X-A: ".utf8) + [0xFF] + Array("\r\n\r\n".utf8), byteByByte: byteByByte)
            == [.error(.invalidHeaderValue)])
        #expect(parse(head + Array("X-A: a".utf8) + [0x00] + Array("\r\n\r\n".utf8), byteByByte: byteByByte)
            == [.error(.invalidHeaderValue)])
    }

    // MARK: Limits

    @Test(arguments: [false, true])
    func headerBytesOverTheLimit(byteByByte: Bool) {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        #expect(parse(big, limits: small, byteByByte: byteByByte) == [.error(.headerTooLarge)])
        // Unterminated: refused as soon as the buffered head passes the limit, without waiting for a newline.
        var parser = HTTPRequestParser(limits: small)
        parser.append(Array(("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 300)).utf8))
        guard case .error(.headerTooLarge) = parser.next() else {
            Issue.record("expected headerTooLarge")
            return
        }
    }

    @Test(arguments: [false, true])
    func manySmallHeadersPastTheByteLimit(byteByByte: Bool) {
        let limits = HTTPRequestParser.Limits(maxHeaderBytes: 256, maxHeaderCount: 1000)
        let input = "GET / HTTP/1.1\r\n" + String(repeating: "X-A: 1234567890\r\n", count: 20) + "\r\n"
        #expect(parse(input, limits: limits, byteByByte: byteByByte) == [.error(.headerTooLarge)])
    }

    @Test(arguments: [false, true])
    func tooManyHeaders(byteByByte: Bool) {
        let input = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 5) + "\r\n"
        #expect(parse(input, limits: small, byteByByte: byteByByte) == [.error(.tooManyHeaders)])
        let exactly = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 4) + "\r\n"
        #expect(parse(exactly, limits: small, byteByByte: byteByByte).count == 1)
        if case .error = parse(exactly, limits: small, byteByByte: byteByByte).first { Issue.record("4 headers refused") }
    }

    @Test(arguments: [false, true])
    func targetTooLong(byteByByte: Bool) {
        let target = "/" + String(repeating: "a", count: 40)
        #expect(parse("GET \(target) HTTP/1.1\r\n\r\n", limits: small, byteByByte: byteByByte) == [.error(.targetTooLong)])
        // A request line that never ends is refused as too long, not buffered forever.
        var parser = HTTPRequestParser(limits: small)
        parser.append(Array(("GET /" + String(repeating: "a", count: 200)).utf8))
        guard case .error(.targetTooLong) = parser.next() else {
            Issue.record("expected targetTooLong")
            return
        }
    }

    @Test(arguments: [false, true])
    func bodyOverTheLimit(byteByByte: Bool) {
        #expect(parse("POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", limits: small, byteByByte: byteByByte)
            == [.error(.bodyTooLarge)])
        #expect(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", byteByByte: byteByByte)
            == [.error(.bodyTooLarge)])
        let chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n9\r\n123456789\r\n"
        #expect(parse(chunked, limits: small, byteByByte: byteByByte) == [.error(.bodyTooLarge)])
        let exactly = "POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef"
        #expect(parse(exactly, limits: small, byteByByte: byteByByte).count == 1)
    }

    @Test(arguments: [false, true])
    func trailersOverTheLimit(byteByByte: Bool) {
        let input = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: "
            + String(repeating: "t", count: 300) + "\r\n\r\n"
        #expect(parse(input, limits: small, byteByByte: byteByByte) == [.error(.headerTooLarge)])
    }

    @Test func aFailedParserStaysFailed() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/9.9\r\n\r\n".utf8))
        guard case .error(.unsupportedVersion) = parser.next() else {
            Issue.record("expected unsupportedVersion")
            return
        }
        parser.append(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        guard case .error(.unsupportedVersion) = parser.next() else {
            Issue.record("expected the parser to stay failed")
            return
        }
    }

    @Test func everyErrorMapsToItsStatus() {
        let expected: [(HTTPParseError, Int)] = [
            (.invalidRequestLine, 400), (.invalidHeaderName, 400), (.invalidHeaderValue, 400),
            (.obsoleteLineFolding, 400), (.invalidLineEnding, 400), (.contentLengthWithTransferEncoding, 400),
            (.invalidContentLength, 400), (.invalidTransferEncoding, 400), (.invalidChunk, 400), (.multipleHosts, 400),
            (.bodyTooLarge, 413), (.targetTooLong, 414), (.headerTooLarge, 431), (.tooManyHeaders, 431),
            (.expectationFailed, 417), (.unsupportedTransferEncoding, 501), (.unsupportedVersion, 505),
        ]
        for (error, status) in expected { #expect(error.status == status, "\(error)") }
    }

    @Test func phaseFollowsTheRequest() {
        var parser = HTTPRequestParser()
        #expect(parser.phase == .idle)
        parser.append(Array("POST / HTTP/1.1\r\nContent-Length: 2\r\n".utf8))
        _ = parser.next()
        #expect(parser.phase == .head)
        parser.append(Array("\r\na".utf8))
        _ = parser.next()
        #expect(parser.phase == .body)
        parser.append(Array("b".utf8))
        _ = parser.next()
        #expect(parser.phase == .idle)
    }
}
