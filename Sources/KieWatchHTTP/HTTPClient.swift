import Dispatch
import KieWatchCore

/// An HTTP/1.1 client for `http://` URLs, built for loopback speed: the proxy's upstream call,
/// the webhook relay, the simulator's callbacks and the benchmark's load generators.
///
/// Sockets are non-blocking; reads, writes and parsing run on the calling task, and a single
/// `epoll` thread (`HTTPClientEventLoop`) only wakes tasks whose socket is ready or whose
/// deadline passed, so no cooperative thread ever blocks. Connections are kept alive and pooled
/// per host:port (`HTTPClientPool`).
///
/// ## Retry rule
/// A request is sent again, once, on a fresh connection only when all of these hold:
/// 1. it failed on a connection *reused* from the pool (a fresh connection's failure is real);
/// 2. the peer closed or reset the connection (`connectionReset`; never after a timeout);
/// 3. not one response byte had arrived; and
/// 4. either writing the request failed (some bytes never reached the kernel, so the server
///    cannot hold a whole request), or the request was fully written and it is idempotent
///    (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`) or `retryOnStaleConnection` is set.
///
/// So a `createTask` POST that was fully written to a connection the upstream then dropped is
/// *not* re-sent: the upstream may have received it; the caller gets `connectionReset`. Before
/// reuse every idle connection is also probed with a non-blocking peek, so a connection the
/// server closed while idle is simply replaced and needs no retry at all.
///
/// Usage:
/// ```swift
/// let client = HTTPClient()
/// let request = try HTTPClientRequest(method: "POST", url: "http://127.0.0.1:8080/api/v1/jobs/createTask",
///                                     headers: ["Content-Type": "application/json"], body: Array(json.utf8))
/// let response = try await client.send(request, timeout: .seconds(30))
/// ```
public final class HTTPClient: HTTPTransport, Sendable {
    public struct Configuration: Sendable {
        /// Idle connections kept per host:port; more are closed when returned.
        public var maxIdleConnectionsPerHost = 64
        /// An idle connection older than this is closed. Below the keep-alive timeout of most
        /// servers we talk to, so we normally close first and rarely race a server's close.
        public var idleTimeout: Duration = .seconds(20)
        /// Status line and headers of a response.
        public var maxResponseHeaderBytes = 80 * 1024
        /// Decoded response body.
        public var maxResponseBodyBytes = 16 * 1024 * 1024

        public init() {}
    }

    /// A process-wide client, so that every caller shares one pool and one loop thread.
    public static let shared = HTTPClient()

    public let configuration: Configuration
    private let loop: HTTPClientEventLoop
    private let pool: HTTPClientPool
    private let limits: HTTPClientResponseParser.Limits

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let pool = HTTPClientPool(
            maxIdlePerHost: configuration.maxIdleConnectionsPerHost,
            idleTimeoutNanos: configuration.idleTimeout.clientNanoseconds)
        self.pool = pool
        loop = HTTPClientEventLoop(tick: { pool.sweep() })
        limits = .init(
            maxHeaderBytes: configuration.maxResponseHeaderBytes, maxBodyBytes: configuration.maxResponseBodyBytes)
    }

    deinit {
        loop.shutdown()
    }

    /// Stops the loop thread; requests in flight end with `cancelled`, later ones too.
    public func shutdown() {
        loop.shutdown()
    }

    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        try await exchange(request, timeout: timeout, streamWhen: nil)
    }

    /// A streamed body is read from its connection as the consumer asks for it; the connection
    /// goes back to the pool once the body is complete, and is closed if the consumer leaves first.
    public func send(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse {
        try await exchange(request, timeout: timeout, streamWhen: streamWhen)
    }

    private func exchange(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: (@Sendable (Int, HTTPHeaders) -> Bool)?
    ) async throws(HTTPClientError) -> HTTPResponse {
        guard request.url.scheme == .http else { throw .unsupportedScheme(request.url.scheme.rawValue) }
        let deadline = monotonicNanos() &+ timeout.clientNanoseconds
        let bytes = try request.serialized()
        let key = HTTPClientPool.Key(host: request.url.host, port: request.url.port)
        var (connection, reused) = try await acquire(key, deadline: deadline)
        while true {
            do {
                switch try await connection.exchange(
                    bytes, isHeadRequest: request.method == "HEAD", limits: limits, deadline: deadline,
                    streamWhen: streamWhen)
                {
                case .whole(let response, let keepAlive):
                    if keepAlive { pool.checkin(connection) }
                    return response
                case .streaming(var head, let parser):
                    let reader = HTTPClientBodyReader(
                        connection: connection, parser: parser, pool: pool, idleNanos: timeout.clientNanoseconds,
                        client: self)
                    head.bodyStream = HTTPBodyStream(unfolding: { try await reader.next() })
                    return head
                }
            } catch {
                guard reused, Self.mayResend(after: error, request: request) else { throw error.error }
                // The stale connection is released (and closed) when `connection` is replaced.
                connection = try await connect(key, deadline: deadline)
                reused = false
            }
        }
    }

    /// Points 2 to 4 of the retry rule (point 1, reuse, is checked by the caller).
    static func mayResend(after failure: HTTPClientConnection.Failure, request: HTTPClientRequest) -> Bool {
        guard failure.error == .connectionReset else { return false }
        switch failure.phase {
        case .writing: return true
        case .awaitingResponse: return request.mayResendAfterWrite
        case .readingResponse: return false
        }
    }

    /// Number of idle pooled connections to `host:port` (tests, diagnostics).
    public func idleConnectionCount(host: String, port: Int) -> Int {
        pool.idleCount(.init(host: host, port: port))
    }

    // MARK: - Connections

    private func acquire(_ key: HTTPClientPool.Key, deadline: UInt64) async throws(HTTPClientError)
        -> (HTTPClientConnection, reused: Bool)
    {
        while let pooled = pool.checkout(key) {
            if pooled.isReusable() { return (pooled, true) }
        }
        return (try await connect(key, deadline: deadline), false)
    }

    /// Tries each resolved address in order (`localhost` may be `::1` then `127.0.0.1`).
    private func connect(_ key: HTTPClientPool.Key, deadline: UInt64) async throws(HTTPClientError)
        -> HTTPClientConnection
    {
        var lastError = HTTPClientError.connectFailed(errno: 0, message: "no address for \(key.host)")
        for address in try await resolve(key, deadline: deadline) {
            do {
                return try await HTTPClientConnection.connect(to: address, key: key, loop: loop, deadline: deadline)
            } catch {
                guard case .connectFailed = error else { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    /// IP literals and `localhost` resolve inline (no network); other names go to a Dispatch
    /// worker, because `getaddrinfo` may block on DNS for seconds.
    private func resolve(_ key: HTTPClientPool.Key, deadline: UInt64) async throws(HTTPClientError)
        -> [SocketAddress]
    {
        if let cached = pool.addresses(for: key) { return cached }
        if monotonicNanos() >= deadline { throw .timeout }
        let addresses: [SocketAddress]
        if SocketAddress.resolvesLocally(key.host) {
            addresses = try Self.resolveAll(key)
        } else {
            let result = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        returning: Result { () throws(HTTPClientError) in
                            try Self.resolveAll(key)
                        })
                }
            }
            // getaddrinfo cannot be interrupted; a late answer still counts as a timeout.
            if monotonicNanos() >= deadline { throw .timeout }
            addresses = try result.get()
        }
        pool.store(addresses, for: key)
        return addresses
    }

    private static func resolveAll(_ key: HTTPClientPool.Key) throws(HTTPClientError) -> [SocketAddress] {
        do {
            return try SocketAddress.resolveAll(host: key.host, port: key.port)
        } catch {
            throw HTTPClientError(connecting: error)
        }
    }
}
