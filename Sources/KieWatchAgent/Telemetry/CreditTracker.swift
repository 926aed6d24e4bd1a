import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// Remaining credits, learned from callbacks (`remainedCredits`), from credit answers passing
/// through the proxy, and from the agent's own periodic `GET /api/v1/chat/credit`.
struct CreditTracker: Sendable {
    let context: AgentContext

    /// Sets the gauge and remembers the balance in the store (the console's `credits`).
    static func publish(balance: Double, context: AgentContext) {
        context.metrics.creditsRemaining.labels().set(balance)
        Task {
            do {
                try await context.writer.write { ctx in try ctx.setMeta(ConsoleMetaKey.creditsRemaining, String(balance)) }
            } catch {
                context.storeFailed("credits", error)
            }
        }
    }

    /// One credit check with the agent's own key; nil without `KIE_API_KEY`.
    @discardableResult
    func refresh() async -> Double? {
        guard let key = context.configuration.apiKey else { return nil }
        let started = monotonicNanos()
        let now = context.clock.now()
        var call = APICallRecord(
            ts: now, endpoint: .credit, model: nil, taskID: nil, method: "GET", path: "/api/v1/chat/credit",
            httpStatus: 0, bodyCode: nil, latencyMicros: 0, requestBytes: 0, responseBytes: 0, outcome: .error)
        var balance: Double?
        do {
            let request = try HTTPClientRequest(
                method: "GET", url: context.configuration.upstream + "/api/v1/chat/credit",
                headers: ["Authorization": "Bearer \(key)"])
            let response = try await context.upstream.send(request, timeout: .seconds(30))
            let envelope = KieEnvelope(body: response.body)
            call.httpStatus = response.status
            call.bodyCode = envelope?.code
            call.responseBytes = Int64(response.body.count)
            call.outcome = CallOutcome.classify(httpStatus: response.status, bodyCode: envelope?.code)
            balance = envelope.flatMap(KieWire.creditBalance)
        } catch {
            if error == .cancelled && Task.isCancelled { return nil }  // the agent is stopping
            call.outcome = error == .timeout ? .timeout : .error
            call.error = "\(error)"
            context.logger.warn("credits.check_failed", ["error": "\(error)"])
        }
        call.latencyMicros = Int64((monotonicNanos() - started) / 1000)
        if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
        context.metrics.observe(call)
        if let balance { Self.publish(balance: balance, context: context) }
        return balance
    }
}
