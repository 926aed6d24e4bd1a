import Foundation
import KieWatchCore
import KieWatchHTTP

#if canImport(Glibc)
import Glibc
#endif

/// A lean HTTP/1.1 POST flood for the benchmarks: one OS thread running one epoll loop over
/// `connections` non-blocking keep-alive TCP connections to 127.0.0.1, one request in flight
/// per connection (no pipelining).
///
/// Per request it costs one `send`, usually one `read`, a share of an `epoll_wait` and the
/// caller's body closure: the request is built into a reused buffer and the response is only
/// framed (status, end of headers, `Content-Length`), never decoded. So on a small machine the
/// agent under test gets the cores that the async `HTTPClient` (tasks, pool, full parser) would
/// otherwise take.
///
/// Responses must be framed by `Content-Length` (the kiewatch server always frames them so); a
/// chunked or close-delimited response counts as an error. A non-2xx answer, a connection
/// closed or reset with a request in flight, a failed connect and a request unanswered after
/// `timeoutNanos` each count one error; the connection is then reopened for the next request.
/// Failed requests are not retried.
struct LoadGenerator: Sendable {
    /// The agent's port on 127.0.0.1.
    let port: Int
    /// The request target, e.g. `/webhooks/kie?secret=...`.
    let path: String
    /// How many connections, hence requests in flight at once.
    let connections: Int
    /// How long a request may go unanswered before it counts as an error.
    var timeoutNanos: UInt64 = 30_000_000_000

    /// Sends the requests `first..<first+count`, request `i` with the JSON body `body(i)`, and
    /// returns once each one is answered or has failed; latencies are those of answered requests.
    func flood(first: Int, count: Int, body: @escaping @Sendable (Int) -> [UInt8]) async throws -> FloodResult {
        let epoll = try Epoll()
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port)
        let head = Array(
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: ".utf8)
        let connections = max(1, min(connections, count))
        let timeout = timeoutNanos
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                let run = FloodRun(
                    epoll: epoll, address: address, head: head, connections: connections,
                    requests: first..<first + count, timeoutNanos: timeout, body: body)
                continuation.resume(returning: run.run())
            }
            thread.name = "kiewatch-bench load"
            thread.start()
        }
    }
}

/// One flood, confined to the generator's thread: the connections, the shared request range,
/// and the tallies.
private final class FloodRun {
    private let epoll: Epoll
    private let events: Epoll.Events
    private let address: SocketAddress
    /// The request line and headers up to the `Content-Length` value.
    private let head: [UInt8]
    private let body: (Int) -> [UInt8]
    private let timeoutNanos: UInt64
    private let requests: Range<Int>
    private var next: Int
    private let slots: [LoadConnection]
    private var inFlight = 0
    private var errors = 0
    private var latencies: [UInt64] = []
    /// Where reads land before the bytes are appended to a connection's inbox.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(
        epoll: Epoll, address: SocketAddress, head: [UInt8], connections: Int, requests: Range<Int>,
        timeoutNanos: UInt64, body: @escaping (Int) -> [UInt8]
    ) {
        self.epoll = epoll
        self.events = Epoll.Events(capacity: connections)
        self.address = address
        self.head = head
        self.body = body
        self.timeoutNanos = timeoutNanos
        self.requests = requests
        self.next = requests.lowerBound
        self.slots = (0..<connections).map(LoadConnection.init(slot:))
        latencies.reserveCapacity(requests.count)
    }

    deinit { scratch.deallocate() }

    /// Runs the loop until every request is answered or failed, then closes the connections.
    func run() -> FloodResult {
        let started = monotonicNanos()
        for connection in slots { fill(connection) }
        var lastSweep = started
        while inFlight > 0 {
            let ready = events.wait(on: epoll, timeoutMillis: 1000)
            for index in 0..<ready {
                let (mask, tag) = events[index]
                let connection = slots[Int(truncatingIfNeeded: tag & 0xFFFF_FFFF)]
                guard connection.socket != nil, connection.tag == tag else { continue }  // closed since
                handle(connection, mask)
                fill(connection)
            }
            let now = monotonicNanos()
            if now - lastSweep >= 1_000_000_000 {
                sweepTimeouts(now: now)
                lastSweep = now
            }
        }
        let seconds = Double(monotonicNanos() - started) / 1e9
        for connection in slots { close(connection) }
        let sorted = latencies.map { Double($0) / 1e9 }.sorted()
        return FloodResult(
            count: requests.count, errors: errors, seconds: seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99))
    }

    // MARK: Requests

    /// Starts requests on an idle connection until one is in flight or the range is used up
    /// (a request whose connect fails at once is counted and the next one tried).
    private func fill(_ connection: LoadConnection) {
        while connection.request == nil, next < requests.upperBound {
            start(next, on: connection)
            next += 1
        }
    }

    private func start(_ request: Int, on connection: LoadConnection) {
        connection.request = request
        connection.started = monotonicNanos()
        inFlight += 1
        connection.prepare(head: head, body: body(request))
        if connection.socket == nil, !open(connection) {
            fail(connection)
        } else if !connection.connecting {
            flush(connection)
        }
    }

    /// The request in flight was answered with `status`.
    private func finish(_ connection: LoadConnection, status: Int) {
        latencies.append(monotonicNanos() - connection.started)
        if !(200..<300).contains(status) { errors += 1 }
        connection.request = nil
        inFlight -= 1
    }

    /// Counts the request in flight (if any) as an error and closes the connection; the next
    /// request opens a new one.
    private func fail(_ connection: LoadConnection) {
        if connection.request != nil {
            errors += 1
            connection.request = nil
            inFlight -= 1
        }
        close(connection)
    }

    private func sweepTimeouts(now: UInt64) {
        for connection in slots where connection.request != nil && now - connection.started > timeoutNanos {
            fail(connection)
            fill(connection)
        }
    }

    // MARK: I/O

    /// Opens a socket and starts connecting; false when that fails at once.
    private func open(_ connection: LoadConnection) -> Bool {
        do {
            let socket = try Socket.stream(family: address.family)
            connection.socket = socket
            connection.generation &+= 1
            socket.setNoDelay()
            switch try socket.connect(to: address) {
            case .processed: connection.connecting = false
            case .wouldBlock: connection.connecting = true
            }
            connection.wantsOutput = connection.connecting
            let interest = Epoll.input | (connection.wantsOutput ? Epoll.output : 0)
            try epoll.add(socket.descriptor, events: interest, data: connection.tag)
            return true
        } catch {
            return false
        }
    }

    private func close(_ connection: LoadConnection) {
        connection.socket?.close()  // also takes it out of the epoll set
        connection.socket = nil
        connection.connecting = false
        connection.wantsOutput = false
        connection.inbox.removeAll(keepingCapacity: true)
        connection.framer = ResponseFramer()
    }

    private func handle(_ connection: LoadConnection, _ mask: UInt32) {
        guard let socket = connection.socket else { return }
        if connection.connecting {
            guard socket.pendingError() == 0 else { return fail(connection) }
            connection.connecting = false
            flush(connection)
            return
        }
        if mask & Epoll.output != 0 { flush(connection) }
        if mask & (Epoll.input | Epoll.error | Epoll.hangUp) != 0, connection.socket != nil { receive(connection) }
    }

    /// Sends what is left of the request; waits for writability only when the kernel would block.
    private func flush(_ connection: LoadConnection) {
        guard let socket = connection.socket else { return }
        do {
            while connection.sent < connection.outbox.count {
                let result = try connection.outbox.withUnsafeBytes { bytes in
                    try socket.write(UnsafeRawBufferPointer(rebasing: bytes[connection.sent...]))
                }
                switch result {
                case .processed(let written): connection.sent += written
                case .wouldBlock: return try setOutputInterest(connection, true)
                }
            }
            try setOutputInterest(connection, false)
        } catch {
            fail(connection)
        }
    }

    private func setOutputInterest(_ connection: LoadConnection, _ wanted: Bool) throws {
        guard connection.wantsOutput != wanted, let socket = connection.socket else { return }
        connection.wantsOutput = wanted
        try epoll.modify(socket.descriptor, events: Epoll.input | (wanted ? Epoll.output : 0), data: connection.tag)
    }

    /// Reads once (the loop is level-triggered: more data raises another event), then frames
    /// every complete response in the inbox.
    private func receive(_ connection: LoadConnection) {
        guard let socket = connection.socket else { return }
        do {
            switch try socket.read(into: scratch) {
            case .wouldBlock: return
            case .processed(0): return fail(connection)  // closed by the agent
            case .processed(let count): connection.inbox.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count]))
            }
        } catch {
            return fail(connection)  // reset
        }
        while true {
            switch connection.framer.next(in: connection.inbox) {
            case .incomplete:
                return
            case .invalid:
                return fail(connection)
            case .complete(let status, let bytes, let closes):
                connection.inbox.removeFirst(bytes)
                if status < 200 { continue }  // interim (1xx): the final response follows
                // A response nobody asked for means the two sides disagree on the framing.
                guard connection.request != nil else { return close(connection) }
                finish(connection, status: status)
                // Bytes beyond the answer are another unsolicited response: start afresh.
                if closes || !connection.inbox.isEmpty { close(connection) }
                return
            }
        }
    }
}

/// One keep-alive connection of a flood and the request in flight on it.
private final class LoadConnection {
    let slot: Int
    var socket: Socket?
    /// Bumped on every reconnect, so a stale epoll event is recognised by its tag.
    var generation: UInt32 = 0
    var connecting = false
    /// Whether the epoll interest currently includes writability.
    var wantsOutput = false
    /// The index of the request in flight, if any, and when it was started.
    var request: Int?
    var started: UInt64 = 0
    /// The request being sent, and how much of it the kernel has taken.
    var outbox: [UInt8] = []
    var sent = 0
    /// Response bytes received and not yet framed.
    var inbox: [UInt8] = []
    var framer = ResponseFramer()

    init(slot: Int) {
        self.slot = slot
        outbox.reserveCapacity(1024)
        inbox.reserveCapacity(1024)
    }

    /// The epoll registration tag: generation in the high half, slot in the low half.
    var tag: UInt64 { UInt64(generation) << 32 | UInt64(slot) }

    /// Builds the request into the reused outbox: `head`, the body's length, a blank line, the body.
    func prepare(head: [UInt8], body: [UInt8]) {
        outbox.removeAll(keepingCapacity: true)
        outbox.append(contentsOf: head)
        outbox.appendDecimal(body.count)
        outbox.append(UInt8(ascii: "\r"))
        outbox.append(UInt8(ascii: "\n"))
        outbox.append(UInt8(ascii: "\r"))
        outbox.append(UInt8(ascii: "\n"))
        outbox.append(contentsOf: body)
        sent = 0
    }
}

/// Frames HTTP/1.x responses at the front of a byte buffer: the status line, the headers up to
/// the blank line, then `Content-Length` bytes of body (none for 1xx, 204 and 304). Remembers a
/// complete head between calls, so a body split across reads is not re-parsed.
struct ResponseFramer {
    enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        /// Not a response this framer can delimit (bad status line, chunked or unframed body).
        case invalid
        /// A whole response of `bytes` bytes; `closes` when the server will close the connection.
        case complete(status: Int, bytes: Int, closes: Bool)
    }

    private struct Head {
        var status: Int
        var bytes: Int
        var closes: Bool
    }

    private var head: Head?

    mutating func next(in buffer: [UInt8]) -> Outcome {
        if head == nil {
            switch buffer.withUnsafeBufferPointer(Self.parseHead) {
            case .some(.some(let parsed)): head = parsed
            case .some(.none): return .invalid
            case .none: return .incomplete
            }
        }
        guard let complete = head, buffer.count >= complete.bytes else { return .incomplete }
        head = nil
        return .complete(status: complete.status, bytes: complete.bytes, closes: complete.closes)
    }

    /// nil while the head is incomplete; `.some(nil)` when it cannot be framed.
    private static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>) -> Head?? {
        guard let blank = endOfHead(bytes) else {
            return bytes.count > 64 * 1024 ? .some(nil) : nil
        }
        // "HTTP/1.x SSS" then a space or the end of the line.
        guard bytes.count >= 13, bytes.starts(with: "HTTP/1.".utf8), isDigit(bytes[7]), bytes[8] == UInt8(ascii: " "),
            isDigit(bytes[9]), isDigit(bytes[10]), isDigit(bytes[11]),
            bytes[12] == UInt8(ascii: " ") || bytes[12] == UInt8(ascii: "\r")
        else { return .some(nil) }
        let status = Int(bytes[9] - 48) * 100 + Int(bytes[10] - 48) * 10 + Int(bytes[11] - 48)
        var closes = bytes[7] == UInt8(ascii: "0")  // HTTP/1.0 closes unless told otherwise
        var length: Int?
        var line = (bytes.firstIndex(of: UInt8(ascii: "\n")) ?? blank) + 1
        while line < blank {
            var end = line
            while bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let field = UnsafeBufferPointer(rebasing: bytes[line..<(bytes[end - 1] == UInt8(ascii: "\r") ? end - 1 : end)])
            line = end + 1
            guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else { return .some(nil) }
            let name = UnsafeBufferPointer(rebasing: field[..<colon])
            let value = trimmed(UnsafeBufferPointer(rebasing: field[(colon + 1)...]))
            if equalsLowercased(name, "content-length") {
                guard let parsed = decimal(value), length == nil || length == parsed else { return .some(nil) }
                length = parsed
            } else if equalsLowercased(name, "transfer-encoding") {
                return .some(nil)
            } else if equalsLowercased(name, "connection") {
                if equalsLowercased(value, "close") { closes = true }
                if equalsLowercased(value, "keep-alive") { closes = false }
            }
        }
        let bodiless = status < 200 || status == 204 || status == 304
        guard let body = bodiless ? 0 : length else { return .some(nil) }
        return .some(Head(status: status, bytes: blank + 2 + body, closes: closes))
    }

    /// The index of the second `\r\n` of the `\r\n\r\n` that ends the head, if it has arrived.
    private static func endOfHead(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 0
        while i + 3 < bytes.count {
            if bytes[i + 3] != UInt8(ascii: "\n") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "\r"), bytes[i + 1] == UInt8(ascii: "\n"), bytes[i + 2] == UInt8(ascii: "\r") {
                return i + 2
            } else {
                i += 1
            }
        }
        return nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// ASCII case-insensitive comparison with a lowercase literal.
    private static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for i in 0..<bytes.count {
            let byte = bytes[i]
            let lowered = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            if lowered != expected[i] { return false }
        }
        return true
    }

    private static func decimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 12 else { return nil }
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
}
