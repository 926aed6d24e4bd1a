import Foundation
import KieWatchHTTP

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately dumb HTTP client for tests: sends exactly the bytes it is given (malformed,
/// split, pipelined, trickled) and reads answers off a real loopback socket.
///
/// Non-blocking, with short sleeps instead of blocking reads, so tests never tie up a thread of
/// the concurrency pool that the server's handlers need. Every wait has a deadline.
package final class RawHTTPClient {
    package enum Failure: Error, Equatable {
        case timeout
        /// The server closed (or reset) the connection before a complete answer.
        case closed
        case malformed(String)
    }

    /// A response as received; `headers` in order.
    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPHeaders
        package var body: [UInt8]
        package var text: String { String(decoding: body, as: UTF8.self) }
        package subscript(_ name: String) -> String? { headers[name] }
    }

    private let socket: Socket
    private var received: [UInt8] = []
    private var closedByPeer = false
    package let timeout: Duration

    /// Connects to `host:port`.
    package init(host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(5)) async throws {
        let address = try SocketAddress.resolve(host: host, port: port)
        socket = try Socket.stream(family: address.family)
        self.timeout = timeout
        if case .wouldBlock = try socket.connect(to: address) {
            let deadline = ContinuousClock.now + timeout
            while true {
                var poller = pollfd(fd: socket.descriptor, events: Int16(POLLOUT), revents: 0)
                if poll(&poller, 1, 0) == 1 { break }
                if ContinuousClock.now > deadline { throw Failure.timeout }
                try await Task.sleep(for: .milliseconds(1))
            }
            let code = socket.pendingError()
            guard code == 0 else {
                throw HTTPServerError(code: .syscall, errno: code, message: "connect", context: "\(host):\(port)")
            }
        }
    }

    /// Connects to a Unix-domain socket.
    package init(unixPath: String, timeout: Duration = .seconds(5)) async throws {
        let address = try SocketAddress.unix(path: unixPath)
        socket = try Socket.stream(family: AF_UNIX)
        self.timeout = timeout
        _ = try socket.connect(to: address)
    }

    package func close() { socket.close() }

    /// Sends our FIN (`shutdown(SHUT_WR)`): no more requests, answers still readable.
    package func finishSending() { socket.shutdownWrite() }

    package func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends every byte (waiting while the socket buffer is full); `.closed` if the peer is gone.
    package func send(_ bytes: [UInt8]) async throws {
        var offset = 0
        let deadline = ContinuousClock.now + timeout
        while offset < bytes.count {
            let result: IOResult<Int>
            do {
                result = try bytes.withUnsafeBytes { try socket.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            } catch {
                throw Failure.closed
            }
            switch result {
            case .processed(let count): offset += count
            case .wouldBlock:
                if ContinuousClock.now > deadline { throw Failure.timeout }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Reads one response (a `100 Continue` counts as one). `head` responses have no body.
    package func readResponse(head: Bool = false, within limit: Duration? = nil) async throws -> Response {
        let deadline = ContinuousClock.now + (limit ?? timeout)
        var headLength: Int?
        while true {
            if headLength == nil { headLength = httpHeadLength(received) }
            if let end = headLength {
                let response = try Self.parseHead(Array(received[..<(end - 4)]))
                let hasBody = !(head || response.status < 200 || response.status == 204 || response.status == 304)
                if hasBody, response.headers["Transfer-Encoding"]?.lowercased() == "chunked" {
                    if let (body, length) = try Self.dechunk(received[end...]) {
                        var complete = response
                        complete.body = body
                        received.removeFirst(end + length)
                        return complete
                    }
                    if closedByPeer { throw Failure.closed }
                    if ContinuousClock.now > deadline { throw Failure.timeout }
                    try await fill()
                    continue
                }
                let bodyLength =
                    head || response.status < 200 || response.status == 204 || response.status == 304
                    ? 0 : Int(response.headers["Content-Length"] ?? "") ?? -1
                if bodyLength >= 0 && received.count >= end + bodyLength {
                    var complete = response
                    complete.body = Array(received[end..<(end + bodyLength)])
                    received.removeFirst(end + bodyLength)
                    return complete
                }
                if bodyLength < 0 && closedByPeer {
                    var complete = response
                    complete.body = Array(received[end...])
                    received.removeAll()
                    return complete
                }
            }
            if closedByPeer { throw Failure.closed }
            if ContinuousClock.now > deadline { throw Failure.timeout }
            try await fill()
        }
    }

    /// Reads until the bytes received (and not consumed) contain `needle`; false if the
    /// connection closed or `timeout` passed first. For watching a streamed body arrive.
    package func waitForBytes(_ needle: String) async throws -> Bool {
        let bytes = Array(needle.utf8)
        let deadline = ContinuousClock.now + timeout
        while received.firstRange(of: bytes) == nil {
            if closedByPeer || ContinuousClock.now > deadline { return false }
            try await fill()
        }
        return true
    }

    /// Waits until the server closes the connection; true if it did within `timeout`.
    /// Bytes received meanwhile are kept (and returned by `pending`).
    package func waitForClose() async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !closedByPeer {
            if ContinuousClock.now > deadline { return false }
            try await fill()
        }
        return true
    }

    /// Bytes received and not consumed by `readResponse`.
    package var pending: [UInt8] { received }

    /// Whether the server has closed the connection (as far as has been read).
    package var isClosedByPeer: Bool { closedByPeer }

    private func fill() async throws {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let result: IOResult<Int>
        do {
            result = try chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
        } catch {
            closedByPeer = true  // ECONNRESET
            return
        }
        switch result {
        case .processed(0): closedByPeer = true
        case .processed(let count): received.append(contentsOf: chunk[..<count])
        case .wouldBlock: try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// A complete chunked body at the start of `bytes`: the body and how many bytes it took;
    /// nil while incomplete.
    private static func dechunk(_ bytes: ArraySlice<UInt8>) throws -> ([UInt8], Int)? {
        var body: [UInt8] = []
        var i = bytes.startIndex
        let crlf: [UInt8] = [13, 10]
        while true {
            guard let lineEnd = bytes[i...].firstRange(of: crlf)?.lowerBound else { return nil }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), (0..<(1 << 40)).contains(size) else {
                throw Failure.malformed("chunk size '\(sizeText)'")
            }
            i = lineEnd + 2
            if size == 0 {
                guard bytes.count - (i - bytes.startIndex) >= 2 else { return nil }
                guard Array(bytes[i..<(i + 2)]) == crlf else { throw Failure.malformed("trailers") }
                return (body, i + 2 - bytes.startIndex)
            }
            guard bytes.endIndex - i >= size + 2 else { return nil }
            body.append(contentsOf: bytes[i..<(i + size)])
            guard Array(bytes[(i + size)..<(i + size + 2)]) == crlf else { throw Failure.malformed("chunk end") }
            i += size + 2
        }
    }

    private static func parseHead(_ bytes: [UInt8]) throws -> Response {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure.malformed(lines[0])
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed(line) }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: [])
    }
}

/// Raises the soft open-file limit to at least `count` (up to the hard limit), for tests that
/// open many connections.
package func raiseOpenFileLimit(to count: Int) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted = rlim_t(count)
    guard limit.rlim_cur < wanted else { return }
    limit.rlim_cur = min(wanted, limit.rlim_max)
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Runs `body` with a server listening on an ephemeral loopback port, then shuts it down.
package func withHTTPServer<R>(
    configuration: HTTPServer.Configuration = HTTPServer.Configuration(),
    handler: any HTTPHandler = ClosureHandler { request in .text("\(request.method) \(request.target)") },
    _ body: (HTTPServer, Int) async throws -> R
) async throws -> R {
    let server = HTTPServer(configuration: configuration, handler: handler)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    do {
        let result = try await body(server, port)
        await server.shutdown(gracePeriod: .seconds(1))
        return result
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
}
