#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive TCP connection to a host:port, carrying one request at a time.
///
/// `@unchecked Sendable` because it moves between tasks but is never shared: a connection is
/// owned either by the pool (under its mutex) or by exactly one `send` call that checked it out,
/// and the hand-over goes through that mutex, which orders every access. The event loop only
/// ever touches the descriptor number (for `epoll_ctl`), never its state or buffer.
final class HTTPClientConnection: @unchecked Sendable {
    /// Where a failed exchange stopped: decides whether the request may be sent again.
    enum Phase: Sendable, Equatable {
        /// Not all request bytes were handed to the kernel: the server cannot have a whole request.
        case writing
        /// The request was written and not a single response byte has arrived.
        case awaitingResponse
        /// Part of the response arrived.
        case readingResponse
    }

    struct Failure: Error {
        let error: HTTPClientError
        let phase: Phase
    }

    /// What an exchange read: the whole response, or its head and first body bytes with the
    /// parser that goes on reading the rest (`readBody`).
    enum Answer {
        case whole(HTTPResponse, keepAlive: Bool)
        case streaming(HTTPResponse, HTTPClientResponseParser)
    }

    /// Owned: closing it (in `deinit`) also removes it from the epoll set.
    private let socket: Socket
    let key: HTTPClientPool.Key
    /// Monotonic time it was returned to the pool.
    var idleSince: UInt64 = 0
    private let loop: HTTPClientEventLoop
    private var inEpollSet = false
    private let readBuffer: UnsafeMutableRawBufferPointer

    private var fd: Int32 { socket.descriptor }

    private init(socket: Socket, key: HTTPClientPool.Key, loop: HTTPClientEventLoop) {
        self.socket = socket
        self.key = key
        self.loop = loop
        readBuffer = .allocate(byteCount: 16 * 1024, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Opens a connection to one address, waiting on the loop when the connect is in progress.
    static func connect(
        to address: SocketAddress, key: HTTPClientPool.Key, loop: HTTPClientEventLoop, deadline: UInt64
    ) async throws(HTTPClientError) -> HTTPClientConnection {
        let connection: HTTPClientConnection
        let started: IOResult<Void>
        do {
            let socket = try Socket.stream(family: address.family)
            // Nagle off: requests are written whole, and Nagle plus delayed ACK would add 40 ms
            // to every small POST.
            socket.setNoDelay()
            connection = HTTPClientConnection(socket: socket, key: key, loop: loop)
            started = try socket.connect(to: address)
        } catch {
            throw HTTPClientError(connecting: error)
        }
        if case .wouldBlock = started {
            switch await connection.wait(for: .write, deadline: deadline) {
            case .ready: break
            case .timedOut: throw .timeout
            case .cancelled: throw .cancelled
            case .failed(let code): throw HTTPClientError(connectingErrno: code)
            }
            let code = connection.socket.pendingError()
            if code != 0 { throw HTTPClientError(connectingErrno: code) }
        }
        return connection
    }

    /// Whether an idle connection can carry a request: false when the peer has closed it (EOF),
    /// reset it, or sent bytes nobody asked for. One non-blocking peek, about a microsecond,
    /// which turns most "server closed the idle connection" races into a fresh connect instead
    /// of a failed request.
    func isReusable() -> Bool {
        var byte: UInt8 = 0
        while true {
            let r = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            if r >= 0 { return false }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK
        }
    }

    /// Writes `request` and reads one response: whole, with whether the connection can be
    /// reused, or, when `streamWhen` asks for it, as soon as its head has come.
    func exchange(
        _ request: [UInt8], isHeadRequest: Bool, limits: HTTPClientResponseParser.Limits, deadline: UInt64,
        streamWhen: (@Sendable (Int, HTTPHeaders) -> Bool)? = nil
    ) async throws(Failure) -> Answer {
        var written = 0
        while written < request.count {
            let result = request.withUnsafeBytes { raw in
                Result { () throws(HTTPServerError) in
                    try socket.write(UnsafeRawBufferPointer(rebasing: raw[written...]))
                }
            }
            switch result {
            case .success(.processed(let n)): written += n
            case .success(.wouldBlock): try await waitOrThrow(for: .write, deadline: deadline, phase: .writing)
            case .failure: throw Failure(error: .connectionReset, phase: .writing)
            }
        }

        var parser = HTTPClientResponseParser(isHeadRequest: isHeadRequest, limits: limits, streamWhen: streamWhen)
        var phase: Phase { parser.bytesReceived == 0 ? .awaitingResponse : .readingResponse }
        while true {
            // The response cannot be there yet right after the write: wait first, read after.
            try await waitOrThrow(for: .read, deadline: deadline, phase: phase)
            while true {
                let result: IOResult<Int>
                do {
                    result = try socket.read(into: readBuffer)
                } catch {
                    throw Failure(error: .connectionReset, phase: phase)
                }
                guard case .processed(let n) = result else { break }
                if n == 0 {
                    if parser.bytesReceived == 0 { throw Failure(error: .connectionReset, phase: .awaitingResponse) }
                    do {
                        return .whole(try parser.finish(), keepAlive: false)
                    } catch {
                        throw Failure(error: error, phase: .readingResponse)
                    }
                }
                do {
                    if case .complete(let response, let keepAlive) = try parser.feed(
                        UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                    {
                        return .whole(response, keepAlive: keepAlive)
                    }
                } catch {
                    throw Failure(error: error, phase: .readingResponse)
                }
                if parser.isStreaming {
                    return .streaming(
                        HTTPResponse(status: parser.status, headers: parser.headers, body: parser.takeBody()), parser)
                }
                // A short read drained the socket: re-arming reports any bytes that arrive
                // meanwhile, so skip the recv that would only say EAGAIN.
                if n < readBuffer.count { break }
            }
        }
    }

    /// The next body bytes of a streamed response: returns as soon as a read decoded some, or
    /// with `end` when the body is complete (then `keepAlive` says whether the connection can
    /// carry another request). The peer has until `deadline` to send more.
    func readBody(_ parser: inout HTTPClientResponseParser, deadline: UInt64) async throws(HTTPClientError)
        -> (bytes: [UInt8], end: Bool, keepAlive: Bool)
    {
        while true {
            do {
                try await waitOrThrow(for: .read, deadline: deadline, phase: .readingResponse)
            } catch {
                throw error.error
            }
            while true {
                let result: IOResult<Int>
                do {
                    result = try socket.read(into: readBuffer)
                } catch {
                    throw .connectionReset
                }
                guard case .processed(let n) = result else { break }
                if n == 0 {
                    // Only a body that runs until close may end here; `finish` says so.
                    let rest = try parser.finish()
                    return (rest.body, true, false)
                }
                if case .complete(let response, let keepAlive) = try parser.feed(
                    UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                {
                    return (response.body, true, keepAlive)
                }
                let bytes = parser.takeBody()
                if !bytes.isEmpty { return (bytes, false, false) }
                if n < readBuffer.count { break }
            }
        }
    }

    private func wait(for interest: HTTPClientEventLoop.Interest, deadline: UInt64) async
        -> HTTPClientEventLoop.WaitResult
    {
        let first = !inEpollSet
        inEpollSet = true
        return await loop.wait(fd, for: interest, firstWait: first, deadline: deadline)
    }

    private func waitOrThrow(for interest: HTTPClientEventLoop.Interest, deadline: UInt64, phase: Phase)
        async throws(Failure)
    {
        switch await wait(for: interest, deadline: deadline) {
        case .ready: return
        case .timedOut: throw Failure(error: .timeout, phase: phase)
        case .cancelled: throw Failure(error: .cancelled, phase: phase)
        case .failed: throw Failure(error: .connectionReset, phase: phase)
        }
    }
}
