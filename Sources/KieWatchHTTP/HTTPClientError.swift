#if canImport(Glibc)
import Glibc
#endif
import KieWatchCore

/// Everything that can go wrong when sending an HTTP request, one case per answer the caller gives.
///
/// The proxy maps these to Kie-shaped answers in one place: `connectFailed` and `connectionReset`
/// and `malformedResponse` and `responseTooLarge` become 502, `timeout` becomes 504, the URL and
/// request cases are our own bugs or bad configuration. Cases carry just enough context for a log line.
///
/// `description` is redacted (`URLRedaction`): it is what gets logged and stored as a relay's
/// or a call's error, and the URL a case quotes may carry the app's user info and secret.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL could not be parsed (or has parts we do not support). Carries the URL redacted.
    case invalidURL(String)
    /// A scheme this transport does not speak (the socket client only does `http`).
    case unsupportedScheme(String)
    /// The request itself cannot be put on the wire, e.g. a header value containing CR or LF.
    case invalidRequest(String)
    /// No connection could be established: refused, unreachable, name not resolved.
    /// `errno` is 0 when the failure did not come from a syscall (name resolution, URLSession).
    case connectFailed(errno: Int32, message: String)
    /// The deadline passed: while resolving, connecting, writing or waiting for the response.
    case timeout
    /// The peer closed or reset the connection before the response was complete.
    case connectionReset
    /// The bytes received are not an HTTP/1.x response.
    case malformedResponse(String)
    /// The response head or body is over the configured limit.
    case responseTooLarge
    /// The calling task was cancelled (or the client shut down) while the request was in flight.
    case cancelled

    public var description: String { URLRedaction.redact(unredactedDescription) }

    /// A failure that no retry can cure: the URL or the request itself is wrong. A relay to
    /// such a URL gives up at once instead of retrying it for a day.
    public var isPermanent: Bool {
        switch self {
        case .invalidURL, .unsupportedScheme, .invalidRequest: true
        case .connectFailed, .timeout, .connectionReset, .malformedResponse, .responseTooLarge, .cancelled: false
        }
    }

    private var unredactedDescription: String {
        switch self {
        case .invalidURL(let url): "invalid URL: \(url)"
        case .unsupportedScheme(let scheme): "unsupported URL scheme '\(scheme)'"
        case .invalidRequest(let why): "invalid request: \(why)"
        case .connectFailed(let errno, let message):
            errno == 0 ? "connect failed: \(message)" : "connect failed: \(message) (errno \(errno))"
        case .timeout: "timed out"
        case .connectionReset: "connection closed by peer before the response was complete"
        case .malformedResponse(let why): "malformed response: \(why)"
        case .responseTooLarge: "response over the size limit"
        case .cancelled: "cancelled"
        }
    }
}

extension HTTPClientError {
    /// What failing to resolve, open or connect a socket means to a caller: `connectFailed`,
    /// with the errno of a failed syscall, or 0 and the whole story (resolution).
    init(connecting error: HTTPServerError) {
        if error.code == .syscall, let code = error.errno {
            self.init(connectingErrno: code)
        } else {
            self = .connectFailed(errno: 0, message: error.description)
        }
    }

    /// `connectFailed` for an errno (a failed or refused connect), with its `strerror` text.
    init(connectingErrno code: Int32) {
        self = .connectFailed(errno: code, message: String(cString: strerror(code)))
    }
}
