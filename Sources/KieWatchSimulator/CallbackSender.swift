import KieWatchHTTP

/// Delivers one callback POST. Injected so tests see every delivery (and make it fail on
/// purpose) without sockets.
public protocol CallbackSender: Sendable {
    /// POSTs `body` to `url` and reports how it went; gives up after `timeout`.
    func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult
}

/// How one delivery attempt ended, as Kie's retry logic sees it.
public enum CallbackResult: Sendable, Equatable, CustomStringConvertible {
    /// The receiver answered with this HTTP status.
    case status(Int)
    /// No answer within the timeout.
    case timedOut
    /// Could not connect, connection reset, bad URL...
    case transportError(String)

    /// Only a 2xx answer counts as delivered; anything else is retried.
    public var isSuccess: Bool {
        if case .status(let code) = self { return (200..<300).contains(code) }
        return false
    }

    public var description: String {
        switch self {
        case .status(let code): "HTTP \(code)"
        case .timedOut: "timed out"
        case .transportError(let message): "transport error: \(message)"
        }
    }
}

/// The real sender: one POST per attempt through an `HTTPTransport` (the socket client for
/// `http://`, URLSession for `https://`).
public struct TransportCallbackSender: CallbackSender {
    private let transport: any HTTPTransport

    public init(transport: any HTTPTransport = HTTPClientRouter()) {
        self.transport = transport
    }

    public func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        do {
            var h = headers
            if !h.contains("Content-Type") { h.add("Content-Type", "application/json") }
            let request = try HTTPClientRequest(method: "POST", url: url, headers: h, body: body)
            return .status(try await transport.send(request, timeout: timeout).status)
        } catch .timeout {
            return .timedOut
        } catch {
            return .transportError(error.description)
        }
    }
}
