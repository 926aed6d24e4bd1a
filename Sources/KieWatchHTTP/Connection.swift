import KieWatchCore

#if canImport(Glibc)
import Glibc
#endif

/// One client connection: a state machine driven by its event loop (readiness events, handler
/// completions, deadline sweeps). Loop thread only, hence no locks and not `Sendable`.
///
/// One request at a time: while the handler runs and its response is written, nothing more is
/// read (bytes of a pipelined request that were already read stay in the parser), which is
/// natural back-pressure and keeps per-connection memory at the size of one request.
/// The socket is registered once, edge-triggered for input and output, so the steady state
/// needs no `epoll_ctl` per request.
final class Connection: EventHandler {
    enum State {
        /// Reading a request (or waiting for one).
        case reading
        /// The handler is running (in `task`, or inline when nil); its response goes out with
        /// these framing decisions.
        case handling(serial: UInt64, task: Task<Void, Never>?, keepAlive: Bool, isHead: Bool, version: String)
        /// A response is being written; then the next request, or a lingering close.
        case writing
        /// Our FIN is sent after a closing response; discard input until the peer closes, so
        /// its unread bytes do not turn our response into a reset.
        case lingering
        case closed
    }

    private unowned let table: ConnectionTable
    private let context: ServerContext
    let socket: Socket
    let remoteAddress: String
    private var registration: UInt64 = 0
    private var parser: HTTPRequestParser
    private(set) var state: State = .reading
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeAfterWrite = false
    /// When the current phase times out (monotonic nanoseconds); checked by the table's sweep.
    private(set) var deadline: UInt64
    /// Edge-triggered input: true from a readiness event until a read comes back short or empty.
    private var readable = false
    /// The peer has shut down its side (`EPOLLRDHUP`): no more requests will come. Its FIN may
    /// arrive in the same event as its last request, and then no later edge reports it, so a
    /// short read does not end `readable`, and the answer to that request is the last one.
    private var peerFinishedSending = false
    private var serial: UInt64 = 0
    /// The streamed body being sent, while the state is `.writing` (see `HTTPBodyStream`).
    private var stream: StreamedBody?

    init(socket: Socket, remoteAddress: String, table: ConnectionTable, context: ServerContext) {
        self.socket = socket
        self.remoteAddress = remoteAddress
        self.table = table
        self.context = context
        self.parser = HTTPRequestParser(limits: context.limits)
        // A new connection must send its first head within the header timeout: a client that
        // connects and says nothing is not "idle between requests".
        self.deadline = monotonicNanos() + context.headerTimeout
    }

    /// Registers with the loop; false (and the socket closed) if the kernel refuses.
    func start() -> Bool {
        let events = Epoll.input | Epoll.output | Epoll.readHangUp | Epoll.edgeTriggered
        do {
            registration = try table.loop.register(socket.descriptor, events: events, handler: self)
            return true
        } catch {
            state = .closed
            socket.close()
            return false
        }
    }

    // MARK: Events

    func handleEvent(_ events: UInt32) {
        if case .closed = state { return }
        if events & Epoll.error != 0 {
            close()
            return
        }
        if events & (Epoll.output | Epoll.hangUp) != 0 && outputOffset < output.count {
            flush()
        }
        if events & (Epoll.readHangUp | Epoll.hangUp) != 0 {
            // A FIN that comes while a body streams is a client that went away: stop the
            // producer now, not at the next piece it may take minutes to make. (A client that
            // half-closes after its request sent its FIN before the answer began, and reads on.)
            if stream != nil, !peerFinishedSending || events & Epoll.hangUp != 0 {
                close()
                return
            }
            peerFinishedSending = true
        }
        if events & (Epoll.input | Epoll.readHangUp | Epoll.hangUp) != 0 {
            readable = true
            readAvailable()
        }
    }

    private func readAvailable() {
        let buffer = table.readBuffer
        while readable {
            switch state {
            case .reading, .lingering: break
            case .handling, .writing, .closed: return
            }
            let result: IOResult<Int>
            do {
                result = try socket.read(into: buffer)
            } catch {
                close()  // ECONNRESET and friends: the peer is gone
                return
            }
            switch result {
            case .wouldBlock:
                readable = false
            case .processed(0):
                close()  // the peer closed; a half-sent request cannot be completed
                return
            case .processed(let count):
                // A short read drained the socket; a new edge comes with new data. After the
                // peer's FIN no edge comes: the next read (after the answer) returns 0 and closes.
                if count < buffer.count && !peerFinishedSending { readable = false }
                if case .lingering = state { continue }
                let wasIdle = parser.phase == .idle
                parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                refreshReadDeadline(wasIdle: wasIdle)
                processRequests()
            }
        }
    }

    /// Starts the header clock at a request's first byte (it does not move as more bytes come).
    private func refreshReadDeadline(wasIdle: Bool) {
        if wasIdle && parser.phase != .idle { deadline = monotonicNanos() + context.headerTimeout }
    }

    private func processRequests() {
        while case .reading = state {
            switch parser.next() {
            case .needMore:
                // In the body, each read that brings bytes restarts the body clock.
                if parser.phase == .body { deadline = monotonicNanos() + context.bodyTimeout }
                return
            case .expectContinue:
                output.append(contentsOf: ResponseWriter.continueResponse)
                flush()
            case .request(var request):
                request.remoteAddress = remoteAddress
                dispatch(request)
                return
            case .error(let error):
                if error.isLimit {
                    context.counters.rejectedByLimit.increment()
                } else {
                    context.counters.badRequests.increment()
                }
                respondAndClose(status: error.status, message: "\(error)")
                return
            }
        }
    }

    // MARK: Handler

    private func dispatch(_ request: HTTPRequest) {
        serial &+= 1
        let serial = self.serial
        let keepAlive = request.keepAlive && !context.isShuttingDown
        let isHead = request.method == "HEAD"
        let version = request.version
        let handler = context.handler
        let loop = table.loop
        let this = LoopBound(self, loop: loop)
        deadline = monotonicNanos() + context.handlerTimeout
        let responder = InlineResponder { work in
            loop.execute { this.value.handlerFinished(serial: serial, response: work()) }
        }
        // The responder only queues a job, so the state below is set before any answer is handled.
        if handler.handleInline(request, responder: responder) {
            state = .handling(serial: serial, task: nil, keepAlive: keepAlive, isHead: isHead, version: version)
            return
        }
        let context = self.context
        context.handlersRunning.add(1, ordering: .relaxed)
        let task = Task {
            responder.respond(await handler.handle(request))
            context.handlersRunning.subtract(1, ordering: .relaxed)
        }
        state = .handling(serial: serial, task: task, keepAlive: keepAlive, isHead: isHead, version: version)
    }

    /// The handler's answer; ignored if the request already timed out or the connection closed.
    private func handlerFinished(serial: UInt64, response: HTTPResponse) {
        guard case .handling(let current, _, let keepAlive, let isHead, let version) = state, current == serial else {
            return
        }
        context.counters.served.increment()
        if response.status == HTTPResponse.abortConnection.status {
            socket.setResetOnClose()
            close()
            return
        }
        // After the peer's FIN, the answer to its last buffered request is the last answer.
        let lastRequest = peerFinishedSending && parser.bufferedByteCount == 0
        let keepOpen = keepAlive && !context.isShuttingDown && !lastRequest
        let bytes = ResponseWriter.serialize(
            response, includeBody: !isHead, keepAlive: keepOpen, requestVersion: version)
        let streaming = ResponseWriter.streaming(response, includeBody: !isHead, requestVersion: version)
        if let body = response.bodyStream, streaming != .none {
            startStream(body, serial: serial, chunked: streaming == .chunked)
            write(bytes, thenClose: !keepOpen || streaming == .untilClose)
        } else {
            write(bytes, thenClose: !keepOpen)
        }
    }

    // MARK: Streamed bodies

    /// A body sent as it is produced. Its pump (a task) takes one chunk from the producer, hands
    /// it to the loop and waits in `resume` until the chunk is written: one chunk in flight.
    private final class StreamedBody {
        let serial: UInt64
        let chunked: Bool
        var pump: Task<Void, Never>?
        /// The pump waiting for its chunk to be written: resumed true to go on, false to stop.
        var resume: CheckedContinuation<Bool, Never>?

        init(serial: UInt64, chunked: Bool) {
            self.serial = serial
            self.chunked = chunked
        }

        func stop() {
            pump?.cancel()
            resume?.resume(returning: false)
            resume = nil
        }
    }

    private func startStream(_ body: HTTPBodyStream, serial: UInt64, chunked: Bool) {
        let streamed = StreamedBody(serial: serial, chunked: chunked)
        stream = streamed
        let loop = table.loop
        let this = LoopBound(self, loop: loop)
        // Chunks reach the loop through `execute`, so none is handled before the head is queued.
        streamed.pump = Task {
            do {
                for try await chunk in body.chunks where !chunk.isEmpty {
                    let goOn = await withCheckedContinuation { continuation in
                        loop.execute { this.value.streamChunk(chunk, serial: serial, resume: continuation) }
                    }
                    if !goOn { return }
                }
                loop.execute { this.value.streamEnded(serial: serial, failed: Task.isCancelled) }
            } catch {
                loop.execute { this.value.streamEnded(serial: serial, failed: true) }
            }
        }
    }

    private func streamChunk(_ chunk: [UInt8], serial: UInt64, resume: CheckedContinuation<Bool, Never>) {
        guard let stream, stream.serial == serial, case .writing = state else {
            resume.resume(returning: false)
            return
        }
        stream.resume = resume
        enqueue(stream.chunked ? ResponseWriter.chunk(chunk) : chunk)
        flush()
    }

    /// The producer finished (or failed): end the body, or abort the connection so the client
    /// cannot take a truncated body for a whole one.
    private func streamEnded(serial: UInt64, failed: Bool) {
        guard let stream, stream.serial == serial, case .writing = state else { return }
        self.stream = nil
        if failed {
            socket.setResetOnClose()
            close()
            return
        }
        if stream.chunked { enqueue(ResponseWriter.lastChunk) }
        flush()
    }

    /// Everything written so far is out: let the pump fetch the next chunk, which the producer
    /// has `handlerTimeout` to deliver.
    private func streamDrained(_ stream: StreamedBody) {
        deadline = monotonicNanos() + context.handlerTimeout
        stream.resume?.resume(returning: true)
        stream.resume = nil
    }

    // MARK: Writing

    private func write(_ bytes: [UInt8], thenClose: Bool) {
        state = .writing
        closeAfterWrite = thenClose
        enqueue(bytes)
        flush()
    }

    /// Queues bytes behind what is not written yet; the client has `writeTimeout` to take them.
    private func enqueue(_ bytes: [UInt8]) {
        deadline = monotonicNanos() + context.writeTimeout
        if outputOffset == output.count {
            output = bytes
            outputOffset = 0
        } else {
            output.append(contentsOf: bytes)
        }
    }

    /// Refuses the current request with `status` and closes (after a lingering close).
    private func respondAndClose(status: Int, message: String) {
        if case .handling(_, let task, _, _, _) = state { task?.cancel() }
        write(ResponseWriter.errorResponse(status: status, message: message), thenClose: true)
    }

    /// Writes what the socket takes now; the rest waits for an output edge.
    private func flush() {
        while outputOffset < output.count {
            let result: IOResult<Int>
            do {
                result = try output.withUnsafeBytes { bytes throws(HTTPServerError) in
                    try socket.write(UnsafeRawBufferPointer(rebasing: bytes[outputOffset...]))
                }
            } catch {
                close()  // EPIPE, ECONNRESET: nobody to answer
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .processed(let count):
                outputOffset += count
                if case .writing = state { deadline = monotonicNanos() + context.writeTimeout }
            }
        }
        if output.capacity > 64 * 1024 { output = [] } else { output.removeAll(keepingCapacity: true) }
        outputOffset = 0
        guard case .writing = state else { return }
        if let stream { streamDrained(stream) } else { responseWritten() }
    }

    private func responseWritten() {
        if closeAfterWrite {
            if context.isShuttingDown && parser.bufferedByteCount == 0 {
                close()  // nothing unread to cause a reset, and shutdown should not wait on lingerers
                return
            }
            state = .lingering
            deadline = monotonicNanos() + context.lingerTimeout
            socket.shutdownWrite()
            readAvailable()
            return
        }
        state = .reading
        deadline = monotonicNanos() + context.idleTimeout
        if parser.bufferedByteCount > 0 {
            refreshReadDeadline(wasIdle: true)
            processRequests()
        }
        readAvailable()
    }

    // MARK: Deadlines and closing

    /// Called by the sweep once `deadline` has passed.
    func deadlineExpired() {
        switch state {
        case .reading:
            if parser.phase == .idle {
                close()  // idle keep-alive, or connected and never spoke: nothing to answer
            } else {
                context.counters.readTimeouts.increment()
                respondAndClose(status: 408, message: "request not received in time")
            }
        case .handling:
            context.counters.handlerTimeouts.increment()
            respondAndClose(
                status: context.configuration.handlerTimeoutStatus, message: "the handler did not answer in time")
        case .writing, .lingering:
            close()
        case .closed:
            break
        }
    }

    /// Closes now if no request is under way (shutdown: idle keep-alive connections go first).
    func closeIfIdle() {
        switch state {
        case .reading where parser.phase == .idle && outputOffset == output.count: close()
        case .lingering: close()  // its response is out; the rest is courtesy
        default: break
        }
    }

    func close() {
        switch state {
        case .closed: return
        case .handling(_, let task, _, _, _): task?.cancel()
        default: break
        }
        state = .closed
        stream?.stop()
        stream = nil
        table.loop.deregister(socket.descriptor, id: registration)
        socket.close()
        table.remove(self)
    }
}
