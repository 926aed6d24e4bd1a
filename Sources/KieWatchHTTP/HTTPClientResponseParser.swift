/// Incremental HTTP/1.x response parser: bytes in, one complete `HTTPResponse` out.
///
/// Pure (no I/O) so it is tested with literal bytes, fed whole or one byte at a time. It never
/// traps on input: every index is bounds-checked, numbers are parsed with overflow checks, and
/// every limit is enforced before the bytes are kept. Handles `Content-Length`, `chunked`
/// (extensions and trailers ignored), read-until-close bodies, responses that have no body
/// (`HEAD`, 1xx, 204, 304), and skips interim 1xx responses such as `100 Continue`.
///
/// Streaming: when `streamWhen` says so for a response head, its body is not collected whole.
/// The caller takes the decoded bytes as they come (`takeBody()`) after each `feed`, so what
/// is buffered is bounded by what one feed brings, and `maxBodyBytes` does not apply: a
/// server-sent-events answer may run as long as it likes.
public struct HTTPClientResponseParser: Sendable {
    public struct Limits: Sendable {
        /// Status line plus header fields; the same cap NIO and hummingbird use.
        public var maxHeaderBytes: Int
        /// Decoded body bytes.
        public var maxBodyBytes: Int

        public init(maxHeaderBytes: Int = 80 * 1024, maxBodyBytes: Int = 16 * 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public enum Progress: Sendable {
        case needMore
        /// `keepAlive` is false when the connection cannot carry another request: the server
        /// said `close`, the body ran until close, or bytes followed the response.
        case complete(HTTPResponse, keepAlive: Bool)
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    /// Longest chunk-size or trailer line accepted; real ones are a few bytes.
    private static let maxLineBytes = 4096

    public let limits: Limits
    private let isHeadRequest: Bool
    private let streamWhen: (@Sendable (Int, HTTPHeaders) -> Bool)?
    /// The head is read and the body is being streamed (see the type's summary).
    public private(set) var isStreaming = false
    private var state = State.head
    /// The partial head, or the partial line in chunked framing.
    private var buffer: [UInt8] = []
    /// How much of `buffer` has already been searched for the end of the head.
    private var scanned = 0
    public private(set) var status = 0
    public private(set) var headers = HTTPHeaders()
    private var keepAlive = true
    private var body: [UInt8] = []
    private var trailerBytes = 0
    /// Every byte fed so far; zero means the peer has sent nothing (the retry rule needs this).
    public private(set) var bytesReceived = 0

    /// - Parameter isHeadRequest: the response to `HEAD` has headers only, whatever they say.
    /// - Parameter streamWhen: asked once per response that has a body, with its status and
    ///   headers: true streams that body.
    public init(
        isHeadRequest: Bool = false, limits: Limits = Limits(), streamWhen: (@Sendable (Int, HTTPHeaders) -> Bool)? = nil
    ) {
        self.isHeadRequest = isHeadRequest
        self.limits = limits
        self.streamWhen = streamWhen
    }

    /// The body bytes decoded since the last call (streaming).
    public mutating func takeBody() -> [UInt8] {
        defer { body = [] }
        return body
    }

    public mutating func feed(_ bytes: [UInt8]) throws(HTTPClientError) -> Progress {
        // `withUnsafeBytes` only rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in Result { () throws(HTTPClientError) in try feed(raw) } }.get()
    }

    /// Consumes `input`; returns `.complete` as soon as the response is whole.
    public mutating func feed(_ input: UnsafeRawBufferPointer) throws(HTTPClientError) -> Progress {
        bytesReceived += input.count
        let n = input.count
        var i = 0
        while true {
            switch state {
            case .done:
                return .needMore
            case .head:
                if i == n { return .needMore }
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<n]))
                i = n
                guard let end = findHeadEnd() else {
                    if buffer.count > limits.maxHeaderBytes { throw .responseTooLarge }
                    return .needMore
                }
                if end > limits.maxHeaderBytes { throw .responseTooLarge }
                // The blank line was not in the buffer before this call, so whatever follows it
                // is the tail of `input`: rewind into the input instead of copying.
                i = n - (buffer.count - end)
                try parseHead(end)
                buffer.removeAll(keepingCapacity: true)
                scanned = 0
                if let done = try startBody(extra: n - i) { return done }
            case .fixed(let remaining):
                let take = min(remaining, n - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                if take == remaining { return complete(extra: n - i) }
                state = .fixed(remaining: remaining - take)
                return .needMore
            case .untilClose:
                if !isStreaming, n - i > limits.maxBodyBytes - body.count { throw .responseTooLarge }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<n]))
                return .needMore
            case .chunkSize:
                guard let line = try takeLine(input, &i) else { return .needMore }
                let size = try Self.chunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    if !isStreaming, size > limits.maxBodyBytes - body.count { throw .responseTooLarge }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return .needMore
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard let line = try takeLine(input, &i) else { return .needMore }
                guard line.isEmpty else { throw .malformedResponse("chunk data longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try takeLine(input, &i) else { return .needMore }
                if line.isEmpty { return complete(extra: n - i) }
                trailerBytes += line.count
                if trailerBytes > limits.maxHeaderBytes { throw .responseTooLarge }
            }
        }
    }

    /// The peer closed the connection: completes a read-until-close body, fails anything else.
    public mutating func finish() throws(HTTPClientError) -> HTTPResponse {
        guard case .untilClose = state else {
            if case .done = state { throw .malformedResponse("no response in progress") }
            throw .connectionReset
        }
        state = .done
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    // MARK: - Head

    /// Index just past the blank line ending the head (LF LF or LF CR LF), if buffered yet.
    private mutating func findHeadEnd() -> Int? {
        let count = buffer.count
        var j = max(scanned, 0)
        defer { scanned = max(count - 2, 0) }
        while j < count {
            if buffer[j] == 0x0A {
                if j + 1 < count, buffer[j + 1] == 0x0A { return j + 2 }
                if j + 2 < count, buffer[j + 1] == 0x0D, buffer[j + 2] == 0x0A { return j + 3 }
            }
            j += 1
        }
        return nil
    }

    private mutating func parseHead(_ end: Int) throws(HTTPClientError) {
        headers = HTTPHeaders()
        var lineStart = 0
        var isStatusLine = true
        var isHTTP10 = false
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end, buffer[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd + 1
            if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = buffer[lineStart..<lineEnd]
            lineStart = next
            if isStatusLine {
                isStatusLine = false
                (status, isHTTP10) = try Self.statusLine(line)
                continue
            }
            if line.isEmpty { break }
            guard line.first != 0x20, line.first != 0x09 else {
                throw .malformedResponse("obsolete header line folding")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[..<colon].allSatisfy(HTTPClientRequest.isTokenByte)
            else { throw .malformedResponse("bad header line") }
            var vs = colon + 1
            var ve = line.endIndex
            while vs < ve, line[vs] == 0x20 || line[vs] == 0x09 { vs += 1 }
            while ve > vs, line[ve - 1] == 0x20 || line[ve - 1] == 0x09 { ve -= 1 }
            headers.add(
                String(decoding: line[..<colon], as: UTF8.self), String(decoding: line[vs..<ve], as: UTF8.self))
        }
        let connection = headers.values("Connection").joined(separator: ",").lowercased()
        let tokens = connection.split(separator: ",").map { $0.trimmingSpaces() }
        keepAlive = isHTTP10 ? tokens.contains("keep-alive") : !tokens.contains("close")
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`.
    private static func statusLine(_ line: ArraySlice<UInt8>) throws(HTTPClientError) -> (Int, Bool) {
        let b = Array(line)
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        guard b.count >= 12, b.starts(with: prefix), b[7] == UInt8(ascii: "0") || b[7] == UInt8(ascii: "1"),
            b[8] == 0x20, b.count == 12 || b[12] == 0x20
        else {
            throw .malformedResponse("bad status line '\(String(decoding: b.prefix(64), as: UTF8.self))'")
        }
        var code = 0
        for d in b[9..<12] {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { throw .malformedResponse("bad status code") }
            code = code * 10 + Int(d - UInt8(ascii: "0"))
        }
        guard code >= 100 else { throw .malformedResponse("bad status code") }
        return (code, b[7] == UInt8(ascii: "0"))
    }

    /// Chooses the body framing (RFC 9112 §6.3); returns the response when it has no body.
    private mutating func startBody(extra: Int) throws(HTTPClientError) -> Progress? {
        if (100..<200).contains(status), status != 101 {
            // Interim response: the real one follows on the same connection.
            headers = HTTPHeaders()
            state = .head
            return nil
        }
        if status == 101 { keepAlive = false }
        if isHeadRequest || (100..<200).contains(status) || status == 204 || status == 304 {
            return complete(extra: extra)
        }
        isStreaming = streamWhen?(status, headers) ?? false
        let transferEncoding = headers.values("Transfer-Encoding")
        let contentLength = headers.values("Content-Length")
        if !transferEncoding.isEmpty {
            if !contentLength.isEmpty { keepAlive = false }  // a smuggling shape: do not reuse
            let last = transferEncoding.joined(separator: ",").split(separator: ",").last?.trimmingSpaces()
            if last?.lowercased() == "chunked" {
                state = .chunkSize
            } else {
                keepAlive = false
                state = .untilClose
            }
            return nil
        }
        if !contentLength.isEmpty {
            var length: Int?
            for value in contentLength {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let text = part.trimmingSpaces()
                    guard !text.isEmpty, text.utf8.count <= 18,
                        text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                        let n = Int(text), length == nil || length == n
                    else { throw .malformedResponse("bad Content-Length '\(value)'") }
                    length = n
                }
            }
            guard let length else { throw .malformedResponse("bad Content-Length") }
            if length > limits.maxBodyBytes, !isStreaming { throw .responseTooLarge }
            if length == 0 { return complete(extra: extra) }
            if !isStreaming { body.reserveCapacity(length) }
            state = .fixed(remaining: length)
            return nil
        }
        keepAlive = false
        state = .untilClose
        return nil
    }

    // MARK: - Body helpers

    private mutating func complete(extra: Int) -> Progress {
        state = .done
        if extra > 0 { keepAlive = false }  // unsolicited bytes: the connection is out of step
        let response = HTTPResponse(status: status, headers: headers, body: body)
        body = []
        return .complete(response, keepAlive: keepAlive)
    }

    /// The next LF-terminated line (CR stripped), joining bytes buffered from earlier feeds.
    private mutating func takeLine(_ input: UnsafeRawBufferPointer, _ i: inout Int) throws(HTTPClientError) -> [UInt8]? {
        let n = input.count
        var j = i
        while j < n, input[j] != 0x0A { j += 1 }
        if buffer.count + (j - i) > Self.maxLineBytes { throw .malformedResponse("chunked framing line too long") }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<j]))
        guard j < n else {
            i = n
            return nil
        }
        i = j + 1
        if buffer.last == 0x0D { buffer.removeLast() }
        defer { buffer.removeAll(keepingCapacity: true) }
        return buffer
    }

    /// `1*HEXDIG [ ; extensions ]`.
    private static func chunkSize(_ line: [UInt8]) throws(HTTPClientError) -> Int {
        var size = 0
        var digits = 0
        for b in line {
            let v: Int
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(b - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(b - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), 0x20, 0x09:
                guard digits > 0 else { throw .malformedResponse("bad chunk size") }
                return size
            default: throw .malformedResponse("bad chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw .malformedResponse("chunk size too large") }
            size = size << 4 | v
        }
        guard digits > 0 else { throw .malformedResponse("bad chunk size") }
        return size
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
