import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// Remaining credits, learned from callbacks (`remainedCredits`), from credit answers passing
/// through the proxy, and from the agent's own periodic `GET /api/v1/chat/credit`.
///
/// Balances are kept in commit order, so an older one never overwrites a newer one: each is
/// stored by a store write (a callback's balance in the callback's own transaction), and the
/// gauge is set in that write's completion, which the writer runs on its one thread, after
/// the COMMIT, in commit order. No task per balance: tasks run in whatever order the
/// scheduler picks, and so did the balances they published.
struct CreditTracker: Sendable {
    let context: AgentContext

    /// Stores a balance seen outside a callback (a credit answer or check) as the next store
    /// write, and sets the gauge once it committed.
    static func publish(balance: Double, context: AgentContext) {
        context.writer.write { ctx in
            try record(balance: balance, in: ctx)
        } completion: { result in
            switch result {
            case .success: committed(balance: balance, context: context)
            case .failure(let error): context.storeFailed("credits", error)
            }
        }
    }

    /// Stores a balance inside a write that is already running (a callback's transaction), for
    /// the console's `credits` and the gauge after a restart.
    static func record(balance: Double, in ctx: WriteContext) throws {
        try ctx.setMeta(ConsoleMetaKey.creditsRemaining, String(balance))
    }

    /// Sets the gauge to a balance whose write committed. Call it only from that write's
    /// completion (the writer thread, in commit order): anywhere else the order is lost.
    static func committed(balance: Double, context: AgentContext) {
        context.metrics.creditsRemaining.labels().set(balance)
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
