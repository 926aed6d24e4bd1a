import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// The row of one call to Kie, built here for every caller: the proxy (the app's calls), the
/// recovery poller (status polls) and the credit check. A row starts unanswered (HTTP status
/// 0, outcome `error`) as the call is sent, and `answered` or `failed` fills it in.
extension APICallRecord {
    /// A call about to be sent (or answered by the agent itself, see `ProxyHandler.notForwarded`).
    static func sending(
        _ endpoint: KieEndpoint, method: String, path: String, model: String? = nil, taskID: String? = nil,
        requestBytes: Int = 0, at now: EpochMillis
    ) -> APICallRecord {
        APICallRecord(
            ts: now, endpoint: endpoint, model: model, taskID: taskID, method: method, path: path, httpStatus: 0,
            bodyCode: nil, latencyMicros: 0, requestBytes: Int64(requestBytes), responseBytes: 0, outcome: .error)
    }

    /// Kie answered: its HTTP status, body code, size and outcome, and the time since `started`
    /// (`monotonicNanos()` when the call was sent).
    mutating func answered(_ response: HTTPResponse, envelope: KieEnvelope?, started: UInt64) {
        latencyMicros = Self.micros(since: started)
        httpStatus = response.status
        responseBytes = Int64(response.body.count)
        bodyCode = envelope?.code
        outcome = Self.outcome(path: path, httpStatus: response.status, envelope: envelope)
    }

    /// Under `/api/` Kie's envelope is the truth (HTTP 200 with body code 401 failed); the chat
    /// APIs outside it answer in their vendors' shapes, judged by the HTTP status unless they
    /// do send an envelope.
    static func outcome(path: String, httpStatus: Int, envelope: KieEnvelope?) -> CallOutcome {
        if envelope?.code == nil, !path.hasPrefix("/api/") { return (200..<300).contains(httpStatus) ? .ok : .httpError }
        return CallOutcome.classify(httpStatus: httpStatus, bodyCode: envelope?.code)
    }

    /// No answer: Kie unreachable, the connection reset, or the time limit passed.
    mutating func failed(_ error: HTTPClientError, started: UInt64) {
        latencyMicros = Self.micros(since: started)
        outcome = error == .timeout ? .timeout : .error
        self.error = "\(error)"
    }

    private static func micros(since started: UInt64) -> Int64 {
        Int64((monotonicNanos() - started) / 1000)
    }
}
