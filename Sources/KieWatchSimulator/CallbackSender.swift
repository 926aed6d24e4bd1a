import KieWatchHTTP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation

/// Delivers one callback POST. Injected so tests see every delivery (and make it fail on
/// purpose) without sockets, and so the simulator does not depend on the HTTP client being
/// written elsewhere.
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

/// The real sender: `URLSession` from FoundationNetworking, one POST per attempt.
public struct URLSessionCallbackSender: CallbackSender {
    private let session: URLSession

    /// Uses an ephemeral session: no cookies or cache carried between callbacks.
    public init(session: URLSession = URLSession(configuration: .ephemeral)) {
        self.session = session
    }

    public func post(url: String, body: [UInt8], headers: HTTPHeaders, timeout: Duration) async -> CallbackResult {
        guard let target = URL(string: url), let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            return .transportError("invalid callback URL")
        }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.timeoutInterval = Double(timeout.milliseconds) / 1000
        for field in headers { request.addValue(field.value, forHTTPHeaderField: field.name) }
        do {
            let (_, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { return .transportError("not an HTTP response") }
            return .status(http.statusCode)
        } catch let error as URLError where error.code == .timedOut {
            return .timedOut
        } catch {
            return .transportError(String(describing: error))
        }
    }
}
