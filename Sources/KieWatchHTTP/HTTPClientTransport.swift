/// Sends one request and returns the response, whole or streaming: the one seam between
/// kiewatch and the network. `HTTPClient` (plain `http://`, our sockets), `URLSessionTransport` (`https://`) and
/// `HTTPClientRouter` (picks by scheme) implement it; tests inject their own.
public protocol HTTPTransport: Sendable {
    /// - Parameter timeout: the whole exchange (resolve, connect, write, response) must finish
    ///   within it, or the call throws `HTTPClientError.timeout`.
    func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse

    /// Like `send`, except that a response for which `streamWhen(status, headers)` is true is
    /// returned as soon as its head has come: `body` holds the body bytes received with it,
    /// `bodyStream` the rest as it arrives (it throws `HTTPClientError` if the peer breaks off).
    /// `timeout` then bounds the wait for the head, and each wait for more of the body.
    /// Transports that cannot stream answer whole (the default).
    func send(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse
}

extension HTTPTransport {
    public func send(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse {
        try await send(request, timeout: timeout)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to zero; deadlines are monotonic nanoseconds.
    var clientNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max / 2 : product + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
