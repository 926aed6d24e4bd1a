/// Picks the transport by URL scheme: our socket client for `http://` (loopback simulator,
/// apps' webhook URLs), `URLSession` for `https://` (Kie). The proxy and the relay hold one of
/// these; tests build it with their own transports.
///
/// `URLSessionTransport.shared` is only touched on the first `https://` request: creating a
/// session initialises libcurl and its TLS library, a few MiB an agent pointed at a plain-HTTP
/// upstream (the simulator) never needs.
public struct HTTPClientRouter: HTTPTransport {
    public let http: any HTTPTransport
    private let httpsOverride: (any HTTPTransport)?

    public var https: any HTTPTransport { httpsOverride ?? URLSessionTransport.shared }

    public init(http: any HTTPTransport = HTTPClient.shared, https: (any HTTPTransport)? = nil) {
        self.http = http
        self.httpsOverride = https
    }

    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        try await transport(for: request.url).send(request, timeout: timeout)
    }

    public func send(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse {
        try await transport(for: request.url).send(request, timeout: timeout, streamWhen: streamWhen)
    }

    public func transport(for url: HTTPClientURL) -> any HTTPTransport {
        url.scheme == .http ? http : https
    }
}

extension HTTPClient {
    /// The shared transport for `url`'s scheme: `HTTPClient.shared` or `URLSessionTransport.shared`.
    public static func forURL(_ url: HTTPClientURL) -> any HTTPTransport {
        HTTPClientRouter().transport(for: url)
    }
}
