import KieWatchCore

/// Reads the rest of a streamed response body from its connection, one piece per `next()`:
/// what `HTTPClient` puts behind a response's `bodyStream`.
///
/// `@unchecked Sendable` because the stream calls `next()` from one consumer at a time (an
/// `AsyncThrowingStream(unfolding:)` awaits each call before the next), so the connection and
/// parser are never touched concurrently; the connection is owned here alone (checked out of
/// the pool) until the body is complete.
final class HTTPClientBodyReader: @unchecked Sendable {
    private var connection: HTTPClientConnection?
    private var parser: HTTPClientResponseParser
    private let pool: HTTPClientPool
    /// How long the peer may stay silent between two pieces.
    private let idleNanos: UInt64
    /// Kept alive while the body is read: its deinit stops the loop every wait depends on.
    private let client: HTTPClient

    init(
        connection: HTTPClientConnection, parser: HTTPClientResponseParser, pool: HTTPClientPool, idleNanos: UInt64,
        client: HTTPClient
    ) {
        self.connection = connection
        self.parser = parser
        self.pool = pool
        self.idleNanos = idleNanos
        self.client = client
    }

    /// The next body bytes as they arrive; nil once the body is complete. A broken or silent
    /// peer throws (`connectionReset`, `timeout`, `malformedResponse`) and the connection is
    /// closed; a complete body returns a reusable connection to the pool.
    func next() async throws(HTTPClientError) -> [UInt8]? {
        guard let connection else { return nil }
        do {
            while true {
                let piece = try await connection.readBody(&parser, deadline: monotonicNanos() &+ idleNanos)
                if piece.end {
                    self.connection = nil
                    if piece.keepAlive { pool.checkin(connection) }
                    return piece.bytes.isEmpty ? nil : piece.bytes
                }
                if !piece.bytes.isEmpty { return piece.bytes }
            }
        } catch {
            self.connection = nil  // released, so closed: it is out of step with the peer
            throw error
        }
    }
}
