import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// `POST <family webhook path>` (`/webhooks/kie`, `/webhooks/veo`, `/webhooks/runway`, ...:
/// `TaskFamily.webhookPath`), with or without a route token (`/webhooks/kie/<token>`):
/// authenticate, parse by the family table, record durably, answer 200 only after the
/// commit, and queue the relay to the app. Unauthenticated deliveries are recorded and
/// answered 401, never relayed; one the table cannot read is relayed unchanged when its route
/// names the app (`unparsed`), else recorded and answered 400.
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
        let relayHeaders = TaskWrites.relayHeaders(timestamp: signatureTimestamp, signature: signature)
        let body = try? JSONValue.parse(request.body)
        let report: TaskReport
        do throws(KieDecodingError) {
            guard let body, body.objectValue != nil else { throw KieDecodingError("body is not a JSON object") }
            report = try KieWire.callback(body: body, family: family)
        } catch {
            row.taskID = body.flatMap { TaskFamily.callbackTaskIDs.firstValue(in: $0["data"] ?? .null)?.nonEmptyString }
            // Only the route can say whose it is: without one, nothing to relay to.
            guard let token else { return respond(malformed(&row, reason: error.message)) }
            return receiveUndecoded(
                request, row: row, body: body, reason: error.message, family: family, token: token,
                relayHeaders: relayHeaders, now: now, responder: responder)
        }
        row.taskID = report.taskId
        row.model = report.model
        row.state = report.state
        let signatureVerdict = authenticator.checkSignature(request, taskId: report.taskId, now: now)
        guard signatureVerdict.isAccepted else {
            return respond(reject(&row, verdict: signatureVerdict, status: 401, message: "bad signature"))
        }

        let delivery = row
        let context = self.context
        let deadlines = context.deadlines
        context.writer.write { ctx in
            Decided.recorded(
                report,
                try TaskWrites.recordCallback(
                    ctx, report: report, webhook: delivery, relayHeaders: relayHeaders, route: token,
                    deadline: { deadlines.deadline(for: $0).millis }, now: now))
        } completion: { result in
            Self.answer(result, family: family, taskID: report.taskId, context: context, responder: responder)
        }
    }

    /// What the writer decided about a delivery.
    enum Decided: Sendable {
        case recorded(TaskReport, TaskWrites.CallbackRecorded)
        /// Stored as received and relayed unchanged (`TaskWrites.recordUnparsed`).
        case unparsed(TaskWrites.UnparsedRecorded)
        /// Refused, and recorded as refused: the answer to send and its result label.
        case refused(HTTPResponse, WebhookRecord)
    }

    /// A delivery on a route token whose body the family table cannot read as it stands. The
    /// route names the task: a body that names none (a Veo 4K failure with `data: null`) is
    /// read again with the route's task id; one that still cannot be read is stored as it came
    /// and relayed to the route's app (`unparsed`). With an HMAC key, the signature is checked
    /// over the route's task id. A token that names no route is refused (400), as before.
    private func receiveUndecoded(
        _ request: HTTPRequest, row: WebhookRecord, body: JSONValue?, reason: String, family: TaskFamily,
        token: String, relayHeaders: String, now: EpochMillis, responder: InlineResponder
    ) {
        let context = self.context
        let authenticator = self.authenticator
        let deadlines = context.deadlines
        context.writer.write { ctx -> Decided in
            var row = row
            guard let route = try ctx.route(token: token) else {
                row.result = .malformed
                try ctx.insert(row)
                return .refused(.kieError(code: 400, msg: "malformed callback: \(reason)", status: 400), row)
            }
            let kieTaskID = route.taskID.map { TaskFamily.kieTaskID(tracked: $0) }
            if let id = kieTaskID ?? row.taskID {
                let verdict = authenticator.checkSignature(request, taskId: id, now: now)
                if !verdict.isAccepted {
                    row.auth = WebhookAuth(verdict)
                    row.result = .unauthorized
                    row.body = []
                    try ctx.insert(row)
                    return .refused(.kieError(code: 401, msg: "bad signature", status: 401), row)
                }
            }
            if let body, let kieTaskID, let report = try? KieWire.callback(body: body, family: family, taskId: kieTaskID) {
                row.taskID = report.taskId
                row.model = report.model
                row.state = report.state
                return .recorded(
                    report,
                    try TaskWrites.recordCallback(
                        ctx, report: report, webhook: row, relayHeaders: relayHeaders, route: token,
                        deadline: { deadlines.deadline(for: $0).millis }, now: now))
            }
            return .unparsed(
                try TaskWrites.recordUnparsed(ctx, webhook: row, relayHeaders: relayHeaders, route: route, now: now))
        } completion: { result in
            if case .success(.unparsed) = result {
                context.logger.warn("webhook.unparsed", ["family": family.rawValue, "reason": reason])
            }
            Self.answer(result, family: family, taskID: row.taskID, context: context, responder: responder)
        }
    }

    /// Answers a decided delivery, on the writer thread in commit order (so the balance a
    /// callback reports is published in that order), counting it before the answer leaves.
    private static func answer(
        _ result: Result<Decided, any Error>, family: TaskFamily, taskID: String?, context: AgentContext,
        responder: InlineResponder
    ) {
        if case .success(.recorded(let report, _)) = result, let credits = report.creditsRemaining {
            CreditTracker.committed(balance: credits, context: context)
        }
        responder.respond {
            switch result {
            case .failure(let error):
                // Not committed, so not acknowledged: Kie retries the delivery.
                context.storeFailed("webhook", error, task: taskID)
                return .kieError(code: 503, msg: "kiewatch: could not store the callback, retry later", status: 503)
            case .success(.refused(let response, let row)):
                context.metrics.webhooksReceived.labels(AgentMetrics.modelLabel(row.model), row.result.rawValue).increment()
                return response
            case .success(.unparsed(let recorded)):
                context.metrics.webhooksReceived.labels(recorded.model, WebhookResult.unparsed.rawValue).increment()
                context.relayWakeup.signal()
                return Self.acknowledged
            case .success(.recorded(let report, let recorded)):
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
