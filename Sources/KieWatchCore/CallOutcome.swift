/// How a recorded API call ended. Kie answers HTTP 200 with an error in the body, so the body
/// code decides: success means HTTP 2xx *and* body `code == 200`.
public enum CallOutcome: String, Sendable, CaseIterable, Codable {
    /// HTTP 2xx and body code 200.
    case ok
    /// The HTTP status was fine but the body code says otherwise (401, 402, 422, 429, ...).
    case apiError = "api_error"
    /// A non-2xx HTTP status.
    case httpError = "http_error"
    /// The upstream could not be reached, reset the connection, or answered garbage.
    case error
    /// The upstream did not answer in time.
    case timeout

    public static func classify(httpStatus: Int, bodyCode: Int?) -> CallOutcome {
        guard (200..<300).contains(httpStatus) else { return .httpError }
        return bodyCode == 200 ? .ok : .apiError
    }

    /// The `code` label of `kiewatch_api_requests_total`: body code, else HTTP status,
    /// else `error`/`timeout`.
    public static func codeLabel(outcome: CallOutcome, httpStatus: Int, bodyCode: Int?) -> String {
        switch outcome {
        case .error: return "error"
        case .timeout: return "timeout"
        case .ok, .apiError, .httpError:
            if let bodyCode { return String(bodyCode) }
            return String(httpStatus)
        }
    }
}
