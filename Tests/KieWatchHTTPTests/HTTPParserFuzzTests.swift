import KieWatchHTTP
import KieWatchSimulator
import KieWatchTestSupport
import Testing

/// Seeded fuzzing of the request parser and the query parser, in process. No input may trap;
/// the parser's answer may not depend on how the bytes are split; what it emits stays within
/// its limits; each classic framing error is refused with its exact `HTTPParseError`; and the
/// query parser reads back what was percent-encoded. A failure names the seed and the index
/// (`KIEWATCH_FUZZ_SEED` reproduces a run; `KIEWATCH_FUZZ_COUNT` scales it).
@Suite struct HTTPParserFuzzTests {
    static let seed: UInt64 = 0x5EED_0018
    /// Small limits, so random inputs reach them.
    static let limits = HTTPRequestParser.Limits(maxHeaderBytes: 2_048, maxHeaderCount: 16, maxTargetBytes: 256, maxBodyBytes: 2_048)

    static func settings(_ count: Int) -> FuzzSettings { .fromEnvironment(seed: seed, count: count) }

    /// What a parse produced, reduced to plain values.
    enum Event: Equatable, CustomStringConvertible {
        case request(String)
        case error(HTTPParseError)

        var description: String {
            switch self {
            case .request(let summary): summary
            case .error(let error): "error \(error)"
            }
        }
    }

    /// Feeds `bytes` cut at `cuts`, asking for events after each piece until the parser wants
    /// more; stops at the first error. Every request is checked against the limits on the way.
    static func parse(_ bytes: [UInt8], cuts: [Int], limits: HTTPRequestParser.Limits, context: () -> String) -> [Event] {
        var parser = HTTPRequestParser(limits: limits)
        var events: [Event] = []
        var start = 0
        for end in (cuts + [bytes.count]).sorted() where end >= start {
            parser.append(bytes[start..<end])
            start = end
            while true {
                switch parser.next() {
                case .needMore:
                    break
                case .expectContinue:
                    continue
                case .request(let request):
                    if request.body.count > limits.maxBodyBytes || request.headers.count > limits.maxHeaderCount
                        || request.target.utf8.count > limits.maxTargetBytes || !["HTTP/1.0", "HTTP/1.1"].contains(request.version)
                    {
                        Issue.record("\(context()): a request past the limits: \(request)")
                    }
                    _ = request.path
                    _ = request.keepAlive
                    _ = request.queryItem("secret")
                    let headers = request.headers.map { "\($0.name): \($0.value)" }.joined(separator: "|")
                    events.append(.request("\(request.method) \(request.target) \(request.version) [\(headers)] \(String(decoding: request.body, as: UTF8.self))"))
                    continue
                case .error(let error):
                    events.append(.error(error))
                    return events
                }
                break
            }
        }
        return events
    }

    /// A well-formed request: random method, target, headers and body (Content-Length or chunked).
    static func validRequest(_ random: inout SeededRandom) -> [UInt8] {
        let method = random.pick(["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"])
        let target = random.pick(["/", "/webhooks/kie?secret=s%20x", "/api/v1/jobs/recordInfo?taskId=abc", "/metrics", "*", "http://h/x?y=1"])
        let version = random.chance(0.9) ? "HTTP/1.1" : "HTTP/1.0"
        var head = "\(method) \(target) \(version)\r\nHost: h\r\n"
        for i in 0..<random.integer(in: 0...6) { head += "X-\(i): \(random.pick(["v", " padded ", "é🎬", "", "a\tb"]))\r\n" }
        let body = Array(String(repeating: "{\"k\":1}", count: random.integer(in: 0...40)).utf8)
        if body.isEmpty && random.chance(0.5) { return Array((head + "\r\n").utf8) }
        if version == "HTTP/1.1" && random.chance(0.3) {
            var chunked: [UInt8] = []
            var offset = 0
            while offset < body.count {
                let size = min(body.count - offset, random.integer(in: 1...64))
                chunked += Array("\(String(size, radix: 16))\r\n".utf8) + body[offset..<(offset + size)] + Array("\r\n".utf8)
                offset += size
            }
            return Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8) + chunked + Array("0\r\n\r\n".utf8)
        }
        return Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body
    }

    static func randomCuts(_ count: Int, _ random: inout SeededRandom) -> [Int] {
        guard count > 1 else { return [] }
        if count <= 600 && random.chance(0.03) { return Array(1..<count) }  // a byte at a time
        return (0..<random.integer(in: 1...6)).map { _ in random.integer(in: 0...count) }
    }

    @Test func theAnswerDoesNotDependOnHowTheBytesAreSplitAndStaysWithinTheLimits() {
        let settings = Self.settings(30_000)
        var requests = 0
        var errors = 0
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            var bytes: [UInt8] = []
            for _ in 0..<random.integer(in: 1...3) { bytes += Self.validRequest(&random) }  // pipelined
            var mutations = random.integer(in: 0...3)
            for _ in 0..<mutations { bytes = FuzzInputs.mutate(bytes, using: &random) }
            if random.chance(0.05) {
                bytes += Array(repeating: random.pick([UInt8(ascii: "a"), 13, 10]), count: random.integer(in: 100...5_000))
                mutations += 1
            }
            let context = { "seed \(settings.seed) input #\(index) \(FuzzInputs.describe(bytes, limit: 400))" }
            let whole = Self.parse(bytes, cuts: [], limits: Self.limits, context: context)
            let split = Self.parse(bytes, cuts: Self.randomCuts(bytes.count, &random), limits: Self.limits, context: context)
            // Where a size limit is hit can depend on how much had arrived; every other answer may not.
            let limitHit = [whole.last, split.last].contains { if case .error(let e) = $0 { e.isLimit } else { false } }
            if limitHit ? whole.dropLast() != split.dropLast() : whole != split {
                Issue.record("\(context()): the answer depends on how the bytes are split: \(whole) vs \(split)")
            }
            if mutations == 0 && bytes.count < 1_900 && whole.contains(where: { if case .error = $0 { true } else { false } }) {
                Issue.record("\(context()): a valid request refused: \(whole)")
            }
            requests += whole.filter { if case .request = $0 { true } else { false } }.count
            errors += whole.filter { if case .error = $0 { true } else { false } }.count
        }
        #expect(requests > settings.count / 2 && errors > settings.count / 20, "the mix is broken: \(requests) requests, \(errors) errors")
    }

    /// Classic framing faults, each grafted onto a random valid request, and the exact error.
    static let faults: [(name: String, error: HTTPParseError, apply: @Sendable ([UInt8]) -> [UInt8])] = [
        ("negative length", .invalidContentLength, { withHeader($0, "Content-Length: -1") }),
        ("signed length", .invalidContentLength, { withHeader($0, "Content-Length: +5") }),
        ("hex length", .invalidContentLength, { withHeader($0, "Content-Length: 0x10") }),
        ("empty length", .invalidContentLength, { withHeader($0, "Content-Length:") }),
        ("two lengths", .invalidContentLength, { withHeader(withHeader($0, "Content-Length: 1"), "Content-Length: 2") }),
        ("arabic digits", .invalidContentLength, { withHeader($0, "Content-Length: \u{0661}") }),
        ("huge length", .bodyTooLarge, { withHeader($0, "Content-Length: 99999999999999999999999") }),
        ("Int64.max length", .bodyTooLarge, { withHeader($0, "Content-Length: 9223372036854775807") }),
        ("length with chunked", .contentLengthWithTransferEncoding, {
            withHeader(withHeader($0, "Content-Length: 3"), "Transfer-Encoding: chunked")
        }),
        ("gzip", .unsupportedTransferEncoding, { withHeader($0, "Transfer-Encoding: gzip") }),
        ("chunked twice", .invalidTransferEncoding, { withHeader($0, "Transfer-Encoding: chunked, chunked") }),
        ("bare LF", .invalidLineEnding, { replacing($0, "\r\nHost", with: "\nHost") }),
        ("space before colon", .invalidHeaderName, { withHeader($0, "X-Bad : v") }),
        ("folded line", .obsoleteLineFolding, { withHeader($0, " folded") }),
        ("NUL in a value", .invalidHeaderValue, { withHeader($0, "X-Nul: a\u{0}b") }),
        ("invalid UTF-8 value", .invalidHeaderValue, { withHeader($0, Array("X-B: ".utf8) + [0xC3, 0x28]) }),
        ("two hosts", .multipleHosts, { withHeader($0, "Host: other") }),
        ("odd expectation", .expectationFailed, { withHeader($0, "Expect: 200-ok") }),
        ("HTTP/2.0", .unsupportedVersion, { replacing($0, "HTTP/1.1\r\n", with: "HTTP/2.0\r\n") }),
        ("no version", .invalidRequestLine, { replacing($0, " HTTP/1.1\r\n", with: "\r\n") }),
        ("too many headers", .tooManyHeaders, { (0..<120).reduce($0) { bytes, i in withHeader(bytes, "X-Many-\(i): v") } }),
        ("header too large", .headerTooLarge, { withHeader($0, "X-Big: " + String(repeating: "b", count: 90_000)) }),
    ]

    /// `bytes` with a header line added right after the request line.
    static func withHeader(_ bytes: [UInt8], _ line: String) -> [UInt8] { withHeader(bytes, Array(line.utf8)) }

    static func withHeader(_ bytes: [UInt8], _ line: [UInt8]) -> [UInt8] {
        guard let end = bytes.firstRange(of: Array("\r\n".utf8))?.upperBound else { return bytes }
        return Array(bytes[..<end]) + line + Array("\r\n".utf8) + bytes[end...]
    }

    static func replacing(_ bytes: [UInt8], _ needle: String, with replacement: String) -> [UInt8] {
        guard let range = bytes.firstRange(of: Array(needle.utf8)) else { return bytes }
        return Array(bytes[..<range.lowerBound]) + Array(replacement.utf8) + bytes[range.upperBound...]
    }

    @Test func eachClassicFaultGetsItsExactError() {
        let settings = Self.settings(10_000)
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            // The head alone: a body would be read differently once a fault changes the framing.
            let base = Self.validRequest(&random)
            let head = Array(base[..<(base.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound)])
            // HTTP/1.1 (a transfer coding on 1.0 is refused for that first), no framing of its own.
            let cleaned = [("Transfer-Encoding: chunked\r\n", ""), ("Content-Length: ", "X-Was-Length: "), ("HTTP/1.0\r\n", "HTTP/1.1\r\n")]
                .reduce(head) { Self.replacing($0, $1.0, with: $1.1) }
            let fault = random.pick(Self.faults)
            let bytes = fault.apply(cleaned)
            let context = { "seed \(settings.seed) input #\(index) [\(fault.name)] \(FuzzInputs.describe(bytes, limit: 300))" }
            let events = Self.parse(bytes, cuts: Self.randomCuts(bytes.count, &random), limits: HTTPRequestParser.Limits(), context: context)
            if events != [.error(fault.error)] { Issue.record("\(context()): \(events), expected \(fault.error)") }
        }
    }

    // MARK: Upstream responses

    /// A response as an upstream may send it: status, headers, and a body framed by
    /// Content-Length, chunked, or the close.
    static func validResponse(_ random: inout SeededRandom) -> [UInt8] {
        let status = random.pick([200, 201, 204, 304, 400, 404, 422, 455, 500, 502, 100])
        var head = "HTTP/1.\(random.chance(0.9) ? 1 : 0) \(status) \(random.pick(["OK", "", "Whatever Reason"]))\r\n"
        for i in 0..<random.integer(in: 0...5) { head += "X-\(i): \(random.pick(["v", " padded ", "é"]))\r\n" }
        let body = Array("{\"code\":\(status),\"msg\":\"m\",\"data\":null}".utf8)
        if status == 100 { return Array((head + "\r\n").utf8) + validResponse(&random) }
        switch random.integer(in: 0...2) {
        case 0:
            return Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body
        case 1:
            let split = random.integer(in: 0...body.count)
            var out = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
            for part in [body[..<split], body[split...]] where !part.isEmpty {
                out += Array("\(String(part.count, radix: 16));x=y\r\n".utf8) + part + Array("\r\n".utf8)
            }
            return out + Array("0\r\nT: v\r\n\r\n".utf8)
        default:
            return Array((head + "Connection: close\r\n\r\n").utf8) + body
        }
    }

    /// What the response parser made of `bytes` fed in pieces, then the close.
    static func readResponse(_ bytes: [UInt8], cuts: [Int], limits: HTTPClientResponseParser.Limits) -> String {
        var parser = HTTPClientResponseParser(limits: limits)
        var start = 0
        do {
            for end in (cuts + [bytes.count]).sorted() where end >= start {
                let progress = try parser.feed(Array(bytes[start..<end]))
                start = end
                // Keep-alive is left out: bytes past the response make it false only when they
                // come in the same piece (later ones are caught by the pool's peek before reuse).
                if case .complete(let response, _) = progress {
                    return "complete \(response.status) \(response.headers.map { "\($0.name)=\($0.value)" }) "
                        + String(decoding: response.body, as: UTF8.self)
                }
            }
            let response = try parser.finish()
            return "closed \(response.status) \(String(decoding: response.body, as: UTF8.self))"
        } catch {
            return "error \(error)"
        }
    }

    @Test func upstreamResponsesReadTheSameHoweverTheBytesAreSplit() {
        let settings = Self.settings(30_000)
        let limits = HTTPClientResponseParser.Limits(maxHeaderBytes: 1_024, maxBodyBytes: 1_024)
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            var bytes = Self.validResponse(&random)
            for _ in 0..<random.integer(in: 0...3) { bytes = FuzzInputs.mutate(bytes, using: &random) }
            if random.chance(0.03) { bytes += Array(repeating: UInt8(ascii: "b"), count: random.integer(in: 500...3_000)) }
            let whole = Self.readResponse(bytes, cuts: [], limits: limits)
            let split = Self.readResponse(bytes, cuts: Self.randomCuts(bytes.count, &random), limits: limits)
            let limitHit = [whole, split].contains { $0 == "error \(HTTPClientError.responseTooLarge)" }
            if whole != split && !limitHit {
                Issue.record("seed \(settings.seed) input #\(index) \(FuzzInputs.describe(bytes, limit: 400)): \(whole) vs \(split)")
            }
        }
    }

    // MARK: Query strings

    @Test func queryItemsReadBackWhatWasEncodedAndNeverTrap() {
        let settings = Self.settings(30_000)
        let alphabet: [String] = ["a", "Z", "0", " ", "+", "%", "&", "=", "?", "#", "/", "é", "🎬", "\u{0}", "%zz", "%F", "%FF", "%C3%A9"]
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            let name = (0..<random.integer(in: 1...6)).map { _ in random.pick(alphabet) }.joined()
            let value = (0..<random.integer(in: 0...12)).map { _ in random.pick(alphabet) }.joined()
            let noise = (0..<random.integer(in: 0...3)).map { _ in
                (0..<random.integer(in: 0...8)).map { _ in random.pick(["a", "=", "&", "%", "%2", "+", "x"]) }.joined()
            }
            let encodedName = percentEncode(name)
            let target = "/p?" + (noise + ["\(encodedName)=\(percentEncode(value))", "\(encodedName)=second"]).joined(separator: "&")
            let request = HTTPRequest(method: "GET", target: target)
            let context = { "seed \(settings.seed) input #\(index) \(target.debugDescription)" }
            // The first pair named `name` wins: the check holds unless the noise already has one.
            let earlierNames = noise.joined(separator: "&").split(separator: "&").map {
                percentDecode($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])
            }
            if !earlierNames.contains(name), request.queryItem(name) != value {
                Issue.record("\(context()): \(String(describing: request.queryItem(name))) != \(value.debugDescription)")
            }
            if percentDecode(percentEncode(value)[...]) != value { Issue.record("\(context()): percent-encoding does not round-trip") }
            // Raw garbage: only that it answers.
            let raw = "/x?" + (0..<random.integer(in: 0...30)).map { _ in random.pick(alphabet + ["&&", "==", "%%"]) }.joined()
            _ = HTTPRequest(method: "GET", target: raw).queryItem(random.pick(["secret", "taskId", "", "%", "é"]))
            _ = percentDecode(raw[...])
        }
    }
}
