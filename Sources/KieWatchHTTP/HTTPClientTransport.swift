/// Sends one request and returns the whole response: the one seam between kiewatch and the
/// network. `HTTPClient` (plain `http://`, our sockets), `URLSessionTransport` (`https://`) and
/// `HTTPClientRouter` (picks by scheme) implement it; tests inject their own.
public protocol HTTPTransport: Sendable {
    /// - Parameter timeout: the whole exchange (resolve, connect, write, response) must finish
    ///   within it, or the call throws `HTTPClientError.timeout`.
    func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse
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
