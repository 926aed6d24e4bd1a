import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// `POST /webhooks/kie` and `/webhooks/veo`, with or without a route token
/// (`/webhooks/kie/<token>`): authenticate, parse, record durably, answer 200 only after the
/// commit, and queue the relay to the app. Unauthenticated and malformed deliveries are
/// recorded and answered 401/400, never relayed.
///
/// A token names the create the callback belongs to (`callback_routes`), so a callback that
/// comes before the create answer was stored is accepted and relayed at once. A token the
/// store does not know (pruned, or never issued) is no error: the delivery is matched by its
/// task id as on the token-less paths, and one for an unknown task is recorded `unknown_task`
/// and answered 200 once committed: Kie's retries would only bring the same body again.
struct WebhookReceiver: Sendable {
    let context: AgentContext
    let authenticator: WebhookAuthenticator

    init(context: AgentContext) {
        self.context = context
        authenticator = WebhookAuthenticator(
            secret: context.configuration.callbackSecret, hmacKey: context.configuration.webhookHMACKey)
    }

    /// Decides a delivery and answers once: at once for a rejected one, after the commit for
    /// an accepted one. Never blocks, so the event loop runs it inline
    /// (`AgentRouter.handleInline`) and no task is started per callback; the writer thread only
    /// hands the outcome over, and the metrics are counted where the response is sent.
    func receive(_ request: HTTPRequest, family: TaskFamily, token: String?, responder: InlineResponder) {
        let respond = responder.respond(_:)
        let now = context.clock.now()
        let signatureTimestamp = request.headers["X-Webhook-Timestamp"]
        let signature = request.headers["X-Webhook-Signature"]
        var row = WebhookRecord(
            ts: now, family: family, auth: authenticator.requiresSecret ? .ok : .notConfigured, result: .accepted,
            body: context.scrubber.scrub(request.body), signatureTimestamp: signatureTimestamp, signature: signature)

        let secretVerdict = authenticator.checkSecret(request)
        guard secretVerdict.isAccepted else {
            return respond(reject(&row, verdict: secretVerdict, status: 401, message: "unauthorized"))
        }
        guard let envelope = KieEnvelope(body: request.body) else {
            return respond(malformed(&row, reason: "body is not a JSON object"))
        }
        let report: TaskReport
        do {
            report = try KieWire.callback(envelope, family: family)
        } catch {
            row.taskID = envelope.data["taskId"]?.nonEmptyString
            return respond(malformed(&row, reason: error.message))
        }
        row.taskID = report.taskId
        row.model = report.model
        row.state = report.state
        let signatureVerdict = authenticator.checkSignature(request, taskId: report.taskId, now: now)
        guard signatureVerdict.isAccepted else {
            return respond(reject(&row, verdict: signatureVerdict, status: 401, message: "bad signature"))
        }

        let relayHeaders = TaskWrites.relayHeaders(timestamp: signatureTimestamp, signature: signature)
        let delivery = row
        let context = self.context
        let deadlines = context.deadlines
        context.writer.write { ctx in
            try TaskWrites.recordCallback(
                ctx, report: report, webhook: delivery, relayHeaders: relayHeaders, route: token,
                deadline: { deadlines.deadline(for: $0).millis }, now: now)
        } completion: { result in
            // Here, on the writer thread in commit order, not in the response below: responses
            // run on each connection's own loop, in any order.
            if case .success = result, let credits = report.creditsRemaining {
                CreditTracker.committed(balance: credits, context: context)
            }
            responder.respond {
                switch result {
                case .failure(let error):
                    // Not committed, so not acknowledged: Kie retries the delivery.
                    context.storeFailed("webhook", error, task: report.taskId)
                    return .kieError(code: 503, msg: "kiewatch: could not store the callback, retry later", status: 503)
                case .success(let recorded):
                    // Counted before the 200 leaves, so whoever sees the 200 also sees the count.
                    if let task = recorded.created {
                        context.metrics.tasksCreated.labels(task.model).increment()
                        context.logger.info(
                            "webhook.task_from_route", ["task": task.taskID, "model": task.model, "family": family.rawValue])
                    }
                    let outcome = recorded.outcome
                    Self.observe(outcome, model: report.model, context: context)
                    if case .unknownTask = outcome {
                        context.logger.warn("webhook.unknown_task", ["task": report.taskId, "family": family.rawValue])
                    }
                    return Self.acknowledged
                }
            }
        }
    }

    /// Kie's expected answer to a delivery, built once.
    private static let acknowledged = HTTPResponse.json(["code": 200, "msg": "success"])

    /// Metrics for a decided callback: the result its row holds, counted once.
    private static func observe(_ outcome: TaskWrites.CallbackOutcome, model: String?, context: AgentContext) {
        let m = context.metrics
        let modelLabel = outcome.task?.model ?? AgentMetrics.modelLabel(model)
        // `late` is a kind of duplicate for the metric; the row keeps the finer result.
        let result = outcome.result == .late ? "duplicate" : outcome.result.rawValue
        m.webhooksReceived.labels(modelLabel, result).increment()
        guard case .accepted(let task, let relayed, let finished) = outcome else { return }
        m.lastWebhookReceived.labels().set(Double(context.clock.now()) / 1000)
        if let completed = task.completedAt, let learned = task.lastCallbackAt, learned >= completed {
            let delay = Double(learned.saturatingSubtracting(completed)) / 1000
            m.webhookDelay.labels(task.model).observe(delay, exemplar: ["task_id": task.taskID])
        }
        if finished { TaskMetrics.finished(task, context: context) }
        if relayed { context.relayWakeup.signal() }
    }

    private func reject(_ row: inout WebhookRecord, verdict: WebhookAuthenticator.Verdict, status: Int, message: String)
        -> HTTPResponse
    {
        row.auth = WebhookAuth(verdict)
        row.result = .unauthorized
        // An unauthenticated body is not kept: it is untrusted and may be large.
        row.body = []
        return recordRejected(row, status: status, message: message)
    }

    private func malformed(_ row: inout WebhookRecord, reason: String) -> HTTPResponse {
        row.result = .malformed
        return recordRejected(row, status: 400, message: "malformed callback: \(reason)")
    }

    private func recordRejected(_ row: WebhookRecord, status: Int, message: String) -> HTTPResponse {
        if !context.writer.record(row) { context.storeFailed("webhook", StoreQueueFull(), task: row.taskID) }
        context.metrics.webhooksReceived.labels(AgentMetrics.modelLabel(row.model), row.result.rawValue).increment()
        context.logger.warn(
            "webhook.rejected",
            ["result": row.result.rawValue, "auth": row.auth.rawValue, "family": row.family.rawValue, "reason": message])
        return .kieError(code: status, msg: message, status: status)
    }
}

extension WebhookAuth {
    init(_ verdict: WebhookAuthenticator.Verdict) {
        switch verdict {
        case .ok: self = .ok
        case .missingSecret, .missingSignature: self = .missing
        case .badSecret: self = .badSecret
        case .badSignature: self = .badSignature
        case .staleTimestamp: self = .staleTimestamp
        }
    }
}
