import KieWatchCore
import Synchronization

/// Idle keep-alive connections per host:port, plus each host's resolved addresses.
///
/// LIFO per host so the warmest connection is reused and the surplus ages out; bounded by
/// `maxIdlePerHost` (a connection returned to a full pool is closed). Idle connections are
/// closed after `idleTimeout`, lazily at checkout and by `sweep()`, which the client's event
/// loop runs about once a second and which also drops connections the peer has closed.
final class HTTPClientPool: Sendable {
    struct Key: Hashable, Sendable {
        let host: String
        let port: Int
    }

    private struct Entry {
        var idle: [HTTPClientConnection] = []
        var addresses: [SocketAddress] = []
        var resolvedAt: UInt64 = 0
    }

    let maxIdlePerHost: Int
    let idleTimeoutNanos: UInt64
    /// How long a resolved address list is reused; names in kiewatch's world (loopback, the
    /// app's relay host) rarely move, and resolving per connection would put DNS on the hot path.
    let addressTTLNanos: UInt64 = 60_000_000_000
    private let entries = Mutex<[Key: Entry]>([:])

    init(maxIdlePerHost: Int, idleTimeoutNanos: UInt64) {
        self.maxIdlePerHost = maxIdlePerHost
        self.idleTimeoutNanos = idleTimeoutNanos
    }

    /// The most recently used idle connection, if any is younger than the idle timeout.
    /// The caller still checks `isReusable()` (outside the lock: it is a syscall).
    func checkout(_ key: Key) -> HTTPClientConnection? {
        let now = monotonicNanos()
        var expired: [HTTPClientConnection] = []
        let connection = entries.withLock { entries -> HTTPClientConnection? in
            guard let c = entries[key]?.idle.popLast() else { return nil }
            if now &- c.idleSince < idleTimeoutNanos { return c }
            // LIFO: everything below is older still.
            expired = entries[key]?.idle ?? []
            entries[key]?.idle.removeAll()
            expired.append(c)
            return nil
        }
        _ = expired  // closed here, outside the lock, when the array is released
        return connection
    }

    func checkin(_ connection: HTTPClientConnection) {
        connection.idleSince = monotonicNanos()
        let rejected = entries.withLock { entries -> HTTPClientConnection? in
            guard entries[connection.key, default: Entry()].idle.count < maxIdlePerHost else { return connection }
            entries[connection.key, default: Entry()].idle.append(connection)
            return nil
        }
        _ = rejected
    }

    func addresses(for key: Key) -> [SocketAddress]? {
        let now = monotonicNanos()
        return entries.withLock { entries in
            guard let e = entries[key], !e.addresses.isEmpty, now &- e.resolvedAt < addressTTLNanos else { return nil }
            return e.addresses
        }
    }

    func store(_ addresses: [SocketAddress], for key: Key) {
        let now = monotonicNanos()
        entries.withLock { entries in
            entries[key, default: Entry()].addresses = addresses
            entries[key, default: Entry()].resolvedAt = now
        }
    }

    /// Closes idle connections past the idle timeout or closed by their peer.
    func sweep() {
        let now = monotonicNanos()
        var closing: [HTTPClientConnection] = []
        entries.withLock { entries in
            for key in entries.keys {
                entries[key]?.idle.removeAll { c in
                    let drop = now &- c.idleSince >= idleTimeoutNanos || !c.isReusable()
                    if drop { closing.append(c) }
                    return drop
                }
                if let e = entries[key], e.idle.isEmpty, now &- e.resolvedAt >= addressTTLNanos {
                    entries[key] = nil
                }
            }
        }
        closing.removeAll()
    }

    /// How many idle connections are pooled for `key` (tests and diagnostics).
    func idleCount(_ key: Key) -> Int {
        entries.withLock { $0[key]?.idle.count ?? 0 }
    }
}
