import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// The body of a proxied answer that streams (server-sent events, a chunked answer without a
/// length): each piece goes on to the app as it arrives from Kie, and the call is recorded
/// once, when the stream ends, with its latency to the end and its bytes:
/// - complete: the outcome of its HTTP status, or of Kie's envelope when the whole body was
///   a small JSON one (`envelopeBytes`);
/// - broken off by Kie, or silent past the upstream timeout: `error` (`timeout`), and the app's
///   connection is reset, so it cannot take the truncated body for a whole one;
/// - left by the app before its end: the outcome of its HTTP status, with the error column
///   saying so (Kie did not fail; a user who stops a chat is no upstream error).
///
/// `@unchecked Sendable` because `next()` is called by one consumer at a time (the server's
/// pump awaits each call before the next), and `deinit` runs only when nothing else holds it.
final class ProxiedStream: @unchecked Sendable {
    /// A complete body up to this size is read as Kie's envelope for the outcome.
    static let envelopeBytes = 64 * 1024

    private var upstream: HTTPBodyStream.Chunks.AsyncIterator
    private var call: APICallRecord
    private let started: UInt64
    private let record: @Sendable (APICallRecord) -> Void
    /// The first `envelopeBytes` of the body.
    private var kept: [UInt8]
    private var bytes: Int64
    private var recorded = false

    /// - Parameters:
    ///   - head: Kie's answer: status, headers, the body bytes that came with the head, and the
    ///     rest in `bodyStream`.
    ///   - record: stores and counts the finished call.
    init(head: HTTPResponse, body: HTTPBodyStream, call: APICallRecord, started: UInt64,
         record: @escaping @Sendable (APICallRecord) -> Void) {
        upstream = body.chunks.makeAsyncIterator()
        self.call = call
        self.call.httpStatus = head.status
        self.started = started
        self.record = record
        kept = Array(head.body.prefix(Self.envelopeBytes))
        bytes = Int64(head.body.count)
    }

    deinit {
        finish(.left)
    }

    /// The next piece of Kie's body, nil at its end.
    func next() async throws -> [UInt8]? {
        guard !recorded else { return nil }
        do {
            guard let piece = try await upstream.next() else {
                // A consumer cancelled while waiting gets nil too: that is the app leaving.
                finish(Task.isCancelled ? .left : .complete)
                return nil
            }
            bytes += Int64(piece.count)
            if kept.count < Self.envelopeBytes { kept.append(contentsOf: piece.prefix(Self.envelopeBytes - kept.count)) }
            return piece
        } catch {
            let failure = error as? HTTPClientError
            finish(failure == .cancelled || Task.isCancelled ? .left : .broken(failure ?? .connectionReset))
            throw error
        }
    }

    private enum End {
        case complete, broken(HTTPClientError), left
    }

    private func finish(_ end: End) {
        guard !recorded else { return }
        recorded = true
        call.latencyMicros = Int64((monotonicNanos() - started) / 1000)
        call.responseBytes = bytes
        let byStatus: CallOutcome = (200..<300).contains(call.httpStatus) ? .ok : .httpError
        switch end {
        case .complete:
            let envelope = bytes <= Int64(Self.envelopeBytes) ? KieEnvelope(body: kept) : nil
            call.bodyCode = envelope?.code
            call.outcome = envelope == nil ? byStatus : APICallRecord.outcome(path: call.path, httpStatus: call.httpStatus, envelope: envelope)
        case .broken(let error):
            call.outcome = error == .timeout ? .timeout : .error
            call.error = "stream broken off after \(bytes) bytes: \(error)"
        case .left:
            call.outcome = byStatus
            call.error = "the client left after \(bytes) bytes, before the stream ended"
        }
        record(call)
    }
}
