import Synchronization

extension HTTPServer {
    /// A snapshot of the server's counters, for metrics and the console. Counters only grow,
    /// except `openConnections`.
    public struct Stats: Sendable, Equatable {
        public var openConnections: Int
        public var acceptedConnections: Int
        /// Responses from the handler that were handed to the connection.
        public var requestsServed: Int
        /// Connections refused because `maxConnections` were open.
        public var rejectedConnections: Int
        /// Requests refused for a size limit (413, 414, 431).
        public var rejectedByLimit: Int
        /// Requests refused as malformed or unsupported (400, 417, 501, 505).
        public var badRequests: Int
        /// Requests that did not arrive in time (408).
        public var readTimeouts: Int
        /// Handlers that overran `handlerTimeout`.
        public var handlerTimeouts: Int
    }
}

/// The live counters behind `HTTPServer.Stats`: atomics, bumped from event loops, read anywhere.
final class ServerCounters: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let served = Atomic<Int>(0)
    let rejectedConnections = Atomic<Int>(0)
    let rejectedByLimit = Atomic<Int>(0)
    let badRequests = Atomic<Int>(0)
    let readTimeouts = Atomic<Int>(0)
    let handlerTimeouts = Atomic<Int>(0)

    func snapshot() -> HTTPServer.Stats {
        HTTPServer.Stats(
            openConnections: open.load(ordering: .relaxed), acceptedConnections: accepted.load(ordering: .relaxed),
            requestsServed: served.load(ordering: .relaxed),
            rejectedConnections: rejectedConnections.load(ordering: .relaxed),
            rejectedByLimit: rejectedByLimit.load(ordering: .relaxed), badRequests: badRequests.load(ordering: .relaxed),
            readTimeouts: readTimeouts.load(ordering: .relaxed), handlerTimeouts: handlerTimeouts.load(ordering: .relaxed))
    }
}

extension Atomic<Int> {
    @inline(__always)
    func increment() { wrappingAdd(1, ordering: .relaxed) }
}
