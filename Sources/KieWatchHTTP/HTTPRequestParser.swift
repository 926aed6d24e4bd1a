/// An incremental, pure HTTP/1.1 request parser: bytes in (split anywhere), events out.
///
/// Feed bytes with `append`, then call `next()` until it says `.needMore`. It stops after each
/// complete request and keeps the bytes that follow (a pipelined request), so the server can
/// answer requests strictly one at a time and in order.
///
/// Strict where leniency lets two parsers disagree about where a request ends (request
/// smuggling): CRLF only, no obsolete line folding, no whitespace before a header colon,
/// `Content-Length` with `Transfer-Encoding` refused, differing `Content-Length`s refused, only
/// `chunked` as transfer coding, strictly hex chunk sizes. Header values must be valid UTF-8
/// (`HTTPHeaders` stores `String`s; a proxy must not silently rewrite bytes it forwards), and
/// may not contain control bytes other than HTAB. Not enforced: a `Host` header on HTTP/1.1
/// (nothing here routes by host); two `Host` headers are refused.
///
/// Memory is bounded by `Limits`: the head by `maxHeaderBytes`, the body by `maxBodyBytes`.
public struct HTTPRequestParser: Sendable {
    /// The size limits the parser enforces; `HTTPServer.Configuration` carries the defaults.
    public struct Limits: Sendable, Equatable {
        /// Request line plus header lines (and, separately, chunked trailers).
        public var maxHeaderBytes: Int
        public var maxHeaderCount: Int
        public var maxTargetBytes: Int
        public var maxBodyBytes: Int

        public init(
            maxHeaderBytes: Int = 80 * 1024, maxHeaderCount: Int = 100, maxTargetBytes: Int = 8 * 1024,
            maxBodyBytes: Int = 16 * 1024 * 1024
        ) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxTargetBytes = maxTargetBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public enum Event: Sendable {
        /// Nothing more can be parsed until more bytes arrive.
        case needMore
        /// The head asked for `Expect: 100-continue` and no body byte has arrived yet: send
        /// `HTTP/1.1 100 Continue` so the client starts sending it. Reported once per request.
        case expectContinue
        /// A complete request. Bytes after it stay buffered for the next call.
        case request(HTTPRequest)
        /// The request is refused; the parser stays failed (the connection must close).
        case error(HTTPParseError)
    }

    /// Where the parser is within the current request; the server picks its timeout from this.
    public enum Phase: Sendable, Equatable {
        /// No byte of the next request yet.
        case idle
        /// Reading the request line and headers.
        case head
        /// Reading the body (or its chunk framing and trailers).
        case body
    }

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// The first byte not consumed yet.
    private var start = 0
    /// Where the search for the next LF resumes, so byte-at-a-time input stays linear.
    private var scan = 0
    private var state: State = .head
    private var requestLine: (method: String, target: String, version: String)?
    private var fields: [HTTPHeaders.Field] = []
    /// Bytes of the current head (or trailer section) consumed so far.
    private var headBytes = 0
    private var body: [UInt8] = []
    private var continuePending = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not consumed by a request yet.
    public var bufferedByteCount: Int { buffer.count - start }

    public var phase: Phase {
        switch state {
        case .head:
            return requestLine == nil && headBytes == 0 && start == buffer.count ? .idle : .head
        case .failed:
            return .head
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            return .body
        }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Parses as far as the buffered bytes allow; see `Event`.
    public mutating func next() -> Event {
        if continuePending {
            continuePending = false
            if start == buffer.count { return .expectContinue }
        }
        while true {
            let step: Step
            switch state {
            case .failed(let error): return .error(error)
            case .head: step = parseHeadLine()
            case .fixedBody(let remaining): step = readBody(remaining: remaining, chunked: false)
            case .chunkSize: step = parseChunkSize()
            case .chunkData(let remaining): step = readBody(remaining: remaining, chunked: true)
            case .chunkDataEnd: step = parseChunkDataEnd()
            case .trailers: step = parseTrailerLine()
            }
            switch step {
            case .again: continue
            case .needMore: return .needMore
            case .fail(let error):
                state = .failed(error)
                return .error(error)
            case .emit(let event): return event
            }
        }
    }

    private enum Step {
        case again
        case needMore
        case fail(HTTPParseError)
        case emit(Event)
    }

    // MARK: Lines

    private enum Line {
        case complete(Range<Int>)
        case incomplete
        case invalid
    }

    /// The next CRLF-terminated line (without the CRLF), consumed from the buffer.
    private mutating func nextLine() -> Line {
        var index = scan
        let end = buffer.count
        while index < end {
            let byte = buffer[index]
            if byte == .lf {
                guard index > start, buffer[index - 1] == .cr else { return .invalid }
                let line = start..<(index - 1)
                start = index + 1
                scan = start
                return .complete(line)
            }
            // A CR must be followed by LF; a CR as the last byte may be waiting for its LF.
            if byte == .cr, index + 1 < end, buffer[index + 1] != .lf { return .invalid }
            index += 1
        }
        // Resume at a trailing CR so the byte after it is checked once it arrives.
        scan = end > start && buffer[end - 1] == .cr ? end - 1 : end
        return .incomplete
    }

    // MARK: Head

    private mutating func parseHeadLine() -> Step {
        let lineStart = start
        switch nextLine() {
        case .invalid:
            return .fail(.invalidLineEnding)
        case .incomplete:
            let pending = buffer.count - start
            if requestLine == nil && pending > limits.maxTargetBytes + 64 { return .fail(.targetTooLong) }
            if headBytes + pending > limits.maxHeaderBytes { return .fail(.headerTooLarge) }
            return .needMore
        case .complete(let line):
            headBytes += start - lineStart
            if requestLine == nil {
                if line.isEmpty {  // RFC 9112 §2.2: ignore empty lines before the request line
                    return headBytes > limits.maxHeaderBytes ? .fail(.headerTooLarge) : .again
                }
                if line.count > limits.maxTargetBytes + 64 { return .fail(.targetTooLong) }
                if let error = parseRequestLine(line) { return .fail(error) }
                return headBytes > limits.maxHeaderBytes ? .fail(.headerTooLarge) : .again
            }
            if headBytes > limits.maxHeaderBytes { return .fail(.headerTooLarge) }
            if line.isEmpty { return finishHead() }
            if let error = parseHeaderField(line) { return .fail(error) }
            return .again
        }
    }

    private mutating func parseRequestLine(_ line: Range<Int>) -> HTTPParseError? {
        guard let firstSpace = buffer[line].firstIndex(of: .space),
            let secondSpace = buffer[(firstSpace + 1)..<line.upperBound].firstIndex(of: .space)
        else { return .invalidRequestLine }
        let method = line.lowerBound..<firstSpace
        let target = (firstSpace + 1)..<secondSpace
        let version = (secondSpace + 1)..<line.upperBound
        guard !method.isEmpty, buffer[method].allSatisfy(\.isTokenByte) else { return .invalidRequestLine }
        guard !target.isEmpty else { return .invalidRequestLine }
        if target.count > limits.maxTargetBytes { return .targetTooLong }
        // Visible ASCII only: no spaces, no controls, no raw UTF-8 (it must be percent-encoded).
        guard buffer[target].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .invalidRequestLine }
        let first = buffer[target.lowerBound]
        let isOrigin = first == UInt8(ascii: "/")
        let isAsterisk = target.count == 1 && first == UInt8(ascii: "*")
        let isAbsolute = buffer[target].starts(with: Array("http://".utf8))
            || buffer[target].starts(with: Array("https://".utf8))
        guard isOrigin || isAsterisk || isAbsolute else { return .invalidRequestLine }

        let v = buffer[version]
        guard v.count == 8, v.starts(with: Array("HTTP/".utf8)), v[v.startIndex + 6] == UInt8(ascii: "."),
            v[v.startIndex + 5].isDigit, v[v.startIndex + 7].isDigit
        else { return .invalidRequestLine }
        guard v[v.startIndex + 5] == UInt8(ascii: "1") else { return .unsupportedVersion }
        let versionString = v[v.startIndex + 7] == UInt8(ascii: "0") ? "HTTP/1.0" : "HTTP/1.1"
        requestLine = (
            String(decoding: buffer[method], as: UTF8.self), String(decoding: buffer[target], as: UTF8.self),
            versionString
        )
        return nil
    }

    private mutating func parseHeaderField(_ line: Range<Int>) -> HTTPParseError? {
        let first = buffer[line.lowerBound]
        if first == .space || first == .tab { return .obsoleteLineFolding }
        guard let colon = buffer[line].firstIndex(of: .colon), colon > line.lowerBound else {
            return .invalidHeaderName
        }
        let name = line.lowerBound..<colon
        guard buffer[name].allSatisfy(\.isTokenByte) else { return .invalidHeaderName }
        var valueStart = colon + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd, buffer[valueStart].isWhitespace { valueStart += 1 }
        while valueEnd > valueStart, buffer[valueEnd - 1].isWhitespace { valueEnd -= 1 }
        let valueBytes = buffer[valueStart..<valueEnd]
        var ascii = true
        for byte in valueBytes {
            if (byte < 0x20 && byte != .tab) || byte == 0x7F { return .invalidHeaderValue }
            if byte >= 0x80 { ascii = false }
        }
        let value: String
        if ascii {
            value = String(decoding: valueBytes, as: UTF8.self)
        } else {
            guard let decoded = String(validating: valueBytes, as: UTF8.self) else { return .invalidHeaderValue }
            value = decoded
        }
        if fields.count >= limits.maxHeaderCount { return .tooManyHeaders }
        fields.append((name: String(decoding: buffer[name], as: UTF8.self), value: value))
        return nil
    }

    /// Decides the body framing once the head is complete (RFC 9112 §6).
    private mutating func finishHead() -> Step {
        guard let requestLine else { return .fail(.invalidRequestLine) }
        // One pass over the fields for the three that decide the framing.
        var hosts = 0
        var transferEncodings: [String] = []
        var contentLengths: [String] = []
        for field in fields {
            if field.name.equalsIgnoringASCIICase("Host") {
                hosts += 1
            } else if field.name.equalsIgnoringASCIICase("Transfer-Encoding") {
                transferEncodings.append(field.value)
            } else if field.name.equalsIgnoringASCIICase("Content-Length") {
                contentLengths.append(field.value)
            }
        }
        if hosts > 1 { return .fail(.multipleHosts) }
        if !transferEncodings.isEmpty && !contentLengths.isEmpty { return .fail(.contentLengthWithTransferEncoding) }

        var bodyState: State?
        if !transferEncodings.isEmpty {
            if requestLine.version == "HTTP/1.0" { return .fail(.invalidTransferEncoding) }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingWhitespace().lowercased() }
                .filter { !$0.isEmpty }
            if codings.contains(where: { $0 != "chunked" }) { return .fail(.unsupportedTransferEncoding) }
            if codings.count != 1 { return .fail(.invalidTransferEncoding) }
            bodyState = .chunkSize
        } else if !contentLengths.isEmpty {
            guard let length = Self.contentLength(contentLengths) else { return .fail(.invalidContentLength) }
            if length > limits.maxBodyBytes { return .fail(.bodyTooLarge) }
            if length > 0 { bodyState = .fixedBody(remaining: length) }
        }

        if requestLine.version == "HTTP/1.1", let expect = HTTPHeaders(fields)["Expect"] {
            guard expect.trimmingWhitespace().lowercased() == "100-continue" else {
                return .fail(.expectationFailed)
            }
            continuePending = bodyState != nil
        }
        guard let bodyState else { return .emit(complete()) }
        if case .fixedBody(let length) = bodyState { body.reserveCapacity(min(length, 1 << 20)) }
        state = bodyState
        if continuePending {
            continuePending = false
            if start == buffer.count { return .emit(.expectContinue) }
        }
        return .again
    }

    /// The body length the `Content-Length` fields give: each a comma-separated list of decimals
    /// (OWS around each), all equal (RFC 9110 §8.6). Nil when a part is empty or not digits, or
    /// two disagree; past 18 digits, far over any limit, the length is `Int.max`. Read on the
    /// bytes, without splitting or trimming into new strings (every request with a body).
    private static func contentLength(_ fields: [String]) -> Int? {
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var length: Int?
        for field in fields {
            var rest = field.utf8[...]
            while true {
                while let byte = rest.first, isSpace(byte) { rest = rest.dropFirst() }
                var value = 0
                var digits = 0
                while let byte = rest.first, byte.isDigit {
                    digits += 1
                    value = digits > 18 ? Int.max : value * 10 + Int(byte - UInt8(ascii: "0"))
                    rest = rest.dropFirst()
                }
                while let byte = rest.first, isSpace(byte) { rest = rest.dropFirst() }
                guard digits > 0, length == nil || length == value else { return nil }
                length = value
                guard let separator = rest.first else { break }
                guard separator == UInt8(ascii: ",") else { return nil }
                rest = rest.dropFirst()
            }
        }
        return length
    }

    // MARK: Body

    private mutating func readBody(remaining: Int, chunked: Bool) -> Step {
        let available = buffer.count - start
        guard available > 0 else { return .needMore }
        let count = min(remaining, available)
        body.append(contentsOf: buffer[start..<(start + count)])
        start += count
        scan = start
        let left = remaining - count
        if left > 0 {
            state = chunked ? .chunkData(remaining: left) : .fixedBody(remaining: left)
            return .needMore
        }
        if chunked {
            state = .chunkDataEnd
            return .again
        }
        return .emit(complete())
    }

    private mutating func parseChunkSize() -> Step {
        switch nextLine() {
        case .invalid:
            return .fail(.invalidChunk)
        case .incomplete:
            // A chunk-size line is a hex number and short extensions; anything longer is abuse.
            return buffer.count - start > 4096 ? .fail(.invalidChunk) : .needMore
        case .complete(let line):
            var index = line.lowerBound
            var size = 0
            var digits = 0
            while index < line.upperBound, let value = buffer[index].hexValue {
                if size > (Int.max >> 4) { return .fail(.bodyTooLarge) }
                size = size << 4 | Int(value)
                digits += 1
                index += 1
            }
            guard digits > 0 else { return .fail(.invalidChunk) }
            while index < line.upperBound, buffer[index].isWhitespace { index += 1 }
            if index < line.upperBound {
                // Chunk extensions are ignored, but must start with ';' and hold no control bytes.
                guard buffer[index] == UInt8(ascii: ";"),
                    buffer[index..<line.upperBound].allSatisfy({ ($0 >= 0x20 || $0 == .tab) && $0 != 0x7F })
                else { return .fail(.invalidChunk) }
            }
            if size == 0 {
                state = .trailers
                headBytes = 0
                return .again
            }
            if size > limits.maxBodyBytes - body.count { return .fail(.bodyTooLarge) }
            state = .chunkData(remaining: size)
            return .again
        }
    }

    private mutating func parseChunkDataEnd() -> Step {
        let available = buffer.count - start
        if available >= 1 && buffer[start] != .cr { return .fail(.invalidChunk) }
        if available < 2 { return .needMore }
        guard buffer[start + 1] == .lf else { return .fail(.invalidChunk) }
        start += 2
        scan = start
        state = .chunkSize
        return .again
    }

    /// Trailer fields are read (bounded by `maxHeaderBytes`) and dropped: nothing here needs them,
    /// and merging them into the headers would let a trailer override a checked field.
    private mutating func parseTrailerLine() -> Step {
        let lineStart = start
        switch nextLine() {
        case .invalid:
            return .fail(.invalidLineEnding)
        case .incomplete:
            return headBytes + (buffer.count - start) > limits.maxHeaderBytes ? .fail(.headerTooLarge) : .needMore
        case .complete(let line):
            headBytes += start - lineStart
            if headBytes > limits.maxHeaderBytes { return .fail(.headerTooLarge) }
            if line.isEmpty { return .emit(complete()) }
            let first = buffer[line.lowerBound]
            if first == .space || first == .tab { return .fail(.obsoleteLineFolding) }
            return .again
        }
    }

    // MARK: Completion and memory

    private mutating func complete() -> Event {
        let line = requestLine ?? (method: "", target: "", version: "HTTP/1.1")
        let request = HTTPRequest(
            method: line.method, target: line.target, version: line.version, headers: HTTPHeaders(fields), body: body)
        state = .head
        requestLine = nil
        fields = []
        body = []
        headBytes = 0
        continuePending = false
        if start == buffer.count {
            // Between requests: don't let one large request pin its buffer on an idle connection.
            if buffer.capacity > 16 * 1024 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
            start = 0
            scan = 0
        }
        return .request(request)
    }

    /// Drops consumed bytes before appending, without moving bytes on every small read.
    private mutating func compact() {
        if start == buffer.count {
            if start > 0 { buffer.removeAll(keepingCapacity: buffer.capacity <= 16 * 1024) }
            start = 0
            scan = 0
        } else if start >= 4096 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            scan -= start
            start = 0
        }
    }
}

extension UInt8 {
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let lf = UInt8(ascii: "\n")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let colon = UInt8(ascii: ":")

    fileprivate var isWhitespace: Bool { self == .space || self == .tab }
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }

    fileprivate var hexValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 9110 `tchar`: the bytes allowed in methods and header names.
    fileprivate var isTokenByte: Bool { tokenTable[Int(self)] }
}

private let tokenTable: [Bool] = (0..<256).map { byte in
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    default: "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
    }
}

extension StringProtocol {
    /// Without leading and trailing SP / HTAB (HTTP optional whitespace).
    fileprivate func trimmingWhitespace() -> Substring {
        let string = Substring(self)
        var start = string.startIndex
        var end = string.endIndex
        while start < end, string[start] == " " || string[start] == "\t" { start = string.index(after: start) }
        while end > start {
            let before = string.index(before: end)
            guard string[before] == " " || string[before] == "\t" else { break }
            end = before
        }
        return string[start..<end]
    }
}
