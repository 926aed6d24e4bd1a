import KieWatchCore

#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections from one `Listener` and spreads them over the server's loops.
///
/// Registered level-triggered: each readiness event accepts a bounded batch, and whatever is
/// left is reported again, so a connection storm cannot starve the connections already open.
/// When the process runs out of descriptors (`EMFILE`) the acceptor pauses for one tick
/// instead of spinning on an error it cannot clear.
final class Acceptor: EventHandler {
    private let listener: Listener
    private unowned let table: ConnectionTable
    private let targets: [LoopBound<ConnectionTable>]
    private var registration: UInt64 = 0
    private var next = 0
    private var paused = false

    /// The reply to a connection over `maxConnections`, written once before closing it.
    private static let overloaded = ResponseWriter.errorResponse(status: 503, message: "too many connections")

    init(listener: Listener, table: ConnectionTable, targets: [LoopBound<ConnectionTable>]) {
        self.listener = listener
        self.table = table
        self.targets = targets
    }

    func start() throws(HTTPServerError) {
        registration = try table.loop.register(listener.socket.descriptor, events: Epoll.input, handler: self)
    }

    func handleEvent(_ events: UInt32) {
        let context = table.context
        for _ in 0..<128 {
            let accepted: (Socket, SocketAddress)
            do {
                guard case .processed(let result) = try listener.accept() else { return }
                accepted = result
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM:
                    continue  // that client is gone; the next one may be fine
                default:
                    pause()  // EMFILE, ENFILE, ENOBUFS, ENOMEM: retry on the next tick
                    return
                }
            }
            let (socket, peer) = accepted
            context.counters.accepted.increment()
            let open = context.counters.open.wrappingAdd(1, ordering: .relaxed).newValue
            if open > context.configuration.maxConnections || context.isShuttingDown {
                context.counters.open.wrappingSubtract(1, ordering: .relaxed)
                context.counters.rejectedConnections.increment()
                Self.overloaded.withUnsafeBytes { _ = try? socket.write($0) }
                socket.close()
                continue
            }
            let target = targets[next % targets.count]
            next &+= 1
            if target.loop === table.loop {
                target.value.adopt(socket, peer: peer.description)
            } else {
                let handoff = Handoff(socket)
                let name = peer.description
                target.loop.execute { target.value.adopt(handoff.socket, peer: name) }
            }
        }
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        try? table.loop.modify(listener.socket.descriptor, id: registration, events: 0)
    }

    func resumeIfPaused(now: UInt64) {
        guard paused, listener.socket.isOpen else { return }
        paused = false
        try? table.loop.modify(listener.socket.descriptor, id: registration, events: Epoll.input)
    }

    func close() {
        table.loop.deregister(listener.socket.descriptor, id: registration)
        listener.close()
    }
}

/// Moves an accepted socket to another loop.
///
/// `@unchecked Sendable`: the accepting loop keeps no reference after creating it, so exactly
/// one thread (the target loop) ever uses the socket. If the job is dropped because the target
/// loop stopped, releasing the handoff closes the socket.
private struct Handoff: @unchecked Sendable {
    let socket: Socket
    init(_ socket: Socket) { self.socket = socket }
}
