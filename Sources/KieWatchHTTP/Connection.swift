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
        if events & (Epoll.readHangUp | Epoll.hangUp) != 0 { peerFinishedSending = true }
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
        write(bytes, thenClose: !keepOpen)
    }

    // MARK: Writing

    private func write(_ bytes: [UInt8], thenClose: Bool) {
        state = .writing
        closeAfterWrite = thenClose
        deadline = monotonicNanos() + context.writeTimeout
        if outputOffset == output.count {
            output = bytes
            outputOffset = 0
        } else {
            output.append(contentsOf: bytes)
        }
        flush()
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
        if case .writing = state { responseWritten() }
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
        table.loop.deregister(socket.descriptor, id: registration)
        socket.close()
        table.remove(self)
    }
}
