/// Picks the transport by URL scheme: our socket client for `http://` (loopback simulator,
/// apps' webhook URLs), `URLSession` for `https://` (Kie). The proxy and the relay hold one of
/// these; tests build it with their own transports.
public struct HTTPClientRouter: HTTPTransport {
    public let http: any HTTPTransport
    public let https: any HTTPTransport

    public init(http: any HTTPTransport = HTTPClient.shared, https: any HTTPTransport = URLSessionTransport.shared) {
        self.http = http
        self.https = https
    }

    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        try await transport(for: request.url).send(request, timeout: timeout)
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
