import KieWatchCore

#if canImport(Glibc)
import Glibc
#endif

/// The connections and listeners of one event loop: adopts accepted sockets, sweeps
/// deadlines on every tick, and closes everything on shutdown. Loop thread only.
final class ConnectionTable {
    let loop: EventLoop
    let context: ServerContext
    /// One read buffer per loop, shared by its connections (a read is copied into the
    /// parser at once), so an idle connection holds no read buffer at all.
    let readBuffer: UnsafeMutableRawBufferPointer
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var acceptors: [Acceptor] = []

    init(loop: EventLoop, context: ServerContext) {
        self.loop = loop
        self.context = context
        self.readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    var count: Int { connections.count }

    /// Takes over an accepted socket (already counted in `counters.open`).
    func adopt(_ socket: Socket, peer: String) {
        if context.isShuttingDown {
            socket.close()
            context.counters.open.wrappingSubtract(1, ordering: .relaxed)
            return
        }
        let connection = Connection(socket: socket, remoteAddress: peer, table: self, context: context)
        guard connection.start() else {
            context.counters.open.wrappingSubtract(1, ordering: .relaxed)
            return
        }
        connections[ObjectIdentifier(connection)] = connection
    }

    func remove(_ connection: Connection) {
        if connections.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            context.counters.open.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    func add(_ acceptor: Acceptor) throws(HTTPServerError) {
        try acceptor.start()
        acceptors.append(acceptor)
    }

    /// Expires deadlines and resumes paused acceptors.
    func sweep() {
        let now = monotonicNanos()
        var expired: [Connection] = []
        for connection in connections.values where connection.deadline <= now { expired.append(connection) }
        for connection in expired { connection.deadlineExpired() }
        for acceptor in acceptors { acceptor.resumeIfPaused(now: now) }
    }

    /// Stops accepting and closes idle connections; requests under way continue.
    func beginShutdown() {
        for acceptor in acceptors { acceptor.close() }
        acceptors.removeAll()
        for connection in Array(connections.values) { connection.closeIfIdle() }
    }

    /// Closes everything left (the grace period is over).
    func closeAll() {
        beginShutdown()
        for connection in Array(connections.values) { connection.close() }
    }
}
