import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// The recording reverse proxy: every path but the agent's own to Kie (`/api/file-*` to the
/// upload host), one stored row per call, status answers moving tasks along.
///
/// A create with a callBackUrl gets a callback route (token -> the app's URL) committed
/// before it is forwarded; Kie gets the route's URL (`<public-url>/webhooks/kie/<token>`) in
/// place of the app's, spliced into the app's bytes (nothing else changes). A create whose
/// route cannot be committed is answered 503 and never reaches Kie (nothing is billed for a
/// callback the agent could not deliver). The task row is committed before the app sees its
/// task id.
struct ProxyHandler: Sendable {
    let context: AgentContext

    /// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the transport sets itself.
    static let droppedRequestHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect",
    ]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length",
    ]

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let config = context.configuration
        let started = monotonicNanos()
        let now = context.clock.now()
        let endpoint = KieEndpoint(path: request.path)

        // Create calls: keep the app's callBackUrl in a route, send Kie the route's URL.
        var body = request.body
        var create: KieWire.CreateRequest?
        var route: CallbackRoute?
        if endpoint.createsTask, let family = endpoint.family {
            create = (try? JSONValue.parse(request.body)).map { KieWire.createRequest($0, family: family) }
            if let field = KieWire.callBackURLField(in: request.body) {
                // A URL the relay could never call is refused here, as Kie refuses a bad
                // parameter, rather than accepted and its callbacks retried for a day in silence.
                if let problem = CallbackURLCheck.problem(field.url) {
                    return notForwarded(
                        request: request, endpoint: endpoint, model: create?.model, now: now, started: started,
                        code: 422, status: 200, outcome: .apiError, msg: problem, reason: "not forwarded: the callBackUrl cannot be delivered to")
                }
                // The scanner's reading is the one Kie gets; the parser may refuse what it
                // accepts (nesting past `JSONValue.maxDepth`).
                var parsed = create ?? KieWire.createRequest(.null, family: family)
                parsed.callBackURL = field.url
                create = parsed
                // A request that names its parent task (Veo 4K) is tracked under its own id from
                // the start, so even a callback that beats the create answer finds it.
                let made = CallbackRoute(
                    token: CallbackToken.make(), family: family, model: create?.model ?? TaskLifecycle.unknownModel,
                    callbackURL: field.url, createdAt: now,
                    taskID: parsed.parentTaskID.map { family.trackedTaskID(kieTaskID: $0, create: parsed.json) })
                do {
                    try await context.writer.write { ctx in try TaskWrites.recordRoute(ctx, route: made) }
                } catch {
                    context.storeFailed("callback_route", error)
                    return notForwarded(
                        request: request, endpoint: endpoint, model: create?.model, now: now, started: started,
                        code: 503, status: 503, outcome: .error,
                        msg: "kiewatch: cannot store the callback mapping (store unavailable); the create was not sent to Kie, retry later",
                        reason: "not forwarded: the callback route could not be stored")
                }
                route = made
                body = KieWire.replacingCallBackURL(
                    field, in: request.body, with: context.callbackURL(for: family, token: made.token))
            }
        }

        var headers = HTTPHeaders()
        for field in request.headers where !Self.droppedRequestHeaders.contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        let base = endpoint == .upload ? config.uploadUpstream : config.upstream
        var call = APICallRecord.sending(
            endpoint, method: request.method, path: request.target,
            model: create?.model ?? (endpoint == .llm ? Self.chatModel(request.body) : nil),
            taskID: KieWire.referencedTaskId(
                queryTaskId: request.queryItem("taskId"),
                body: endpoint == .other && request.path.hasPrefix("/api/") ? request.body : []),
            requestBytes: request.body.count, at: now)

        let response: HTTPResponse
        do {
            let upstreamRequest = try HTTPClientRequest(
                method: request.method, url: base + request.target, headers: headers, body: body)
            if endpoint.createsTask { context.createWindow.record() }
            let timeout = Duration.milliseconds(config.upstreamTimeoutMillis)
            // The answers the agent reads (creates, status calls, credit, calls about a task)
            // are read whole; any other may stream.
            response = endpoint.family != nil || endpoint == .credit || call.taskID != nil
                ? try await context.upstream.send(upstreamRequest, timeout: timeout)
                : try await context.upstream.send(upstreamRequest, timeout: timeout, streamWhen: Self.streams)
        } catch {
            return await failed(error, call: &call, started: started)
        }
        if let body = response.bodyStream { return streamed(response, body: body, call: call, started: started) }

        let envelope = KieEnvelope(body: response.body)
        call.answered(response, envelope: envelope, started: started)

        var statusTask: TaskRecord?
        if endpoint.createsTask, let family = endpoint.family, let envelope, let kieTaskID = KieWire.createdTaskId(envelope) {
            let taskID = family.trackedTaskID(kieTaskID: kieTaskID, create: create?.json)
            call.taskID = taskID
            await recordCreate(taskID: taskID, family: family, create: create, route: route, call: call, now: now)
        } else if let route, let code = envelope?.code, code != 200 {
            await recordRefusedCreate(route: route, call: call)
        } else if endpoint.reportsStatus, let family = endpoint.family {
            let report = envelope.flatMap {
                KieWire.statusAnswer($0, httpStatus: response.status, family: family, taskId: call.taskID).report
            }
            statusTask = await recordStatus(report: report, call: call, statusData: envelope?.data ?? .null, now: now)
        } else if call.taskID != nil {
            // A call about a task (Veo 1080p, 4K, extend, ...): recorded with the stored task's model.
            _ = await recordStatus(report: nil, call: call, now: now)
        } else {
            if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
            observe(call)
        }
        if endpoint == .credit, let envelope, let balance = KieWire.creditBalance(envelope) {
            CreditTracker.publish(balance: balance, context: context)
        }

        let answer = endpoint.reportsStatus ? await statusAnswerForApp(response.body, task: statusTask) : response.body
        return HTTPResponse(status: response.status, headers: Self.passedOn(response.headers), body: answer)
    }

    /// Kie's headers as the app gets them: without the hop-by-hop ones and the framing, which
    /// the server writes itself.
    static func passedOn(_ headers: HTTPHeaders) -> HTTPHeaders {
        var out = HTTPHeaders()
        for field in headers where !droppedResponseHeaders.contains(field.name.lowercased()) {
            out.add(field.name, field.value)
        }
        return out
    }

    /// Whether an answer streams: server-sent events, or a body without a length (chunked, or
    /// until the connection closes), which the upstream may be producing as it goes. An answer
    /// with a length is read whole, as fast as before.
    static func streams(status: Int, headers: HTTPHeaders) -> Bool {
        if let type = headers["Content-Type"], type.lowercased().hasPrefix("text/event-stream") { return true }
        return headers["Content-Length"] == nil
    }

    /// An answer passed on as it arrives; the call is recorded when it ends (`ProxiedStream`).
    private func streamed(_ head: HTTPResponse, body: HTTPBodyStream, call: APICallRecord, started: UInt64) -> HTTPResponse {
        let context = self.context
        let stream = ProxiedStream(head: head, body: body, call: call, started: started) { call in
            if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
            context.metrics.observe(call)
        }
        return HTTPResponse(
            status: head.status, headers: Self.passedOn(head.headers), body: head.body,
            bodyStream: HTTPBodyStream(unfolding: { try await stream.next() }))
    }

    /// A status answer echoes the create request Kie received: the app gets its own callback
    /// URL back where Kie echoes the agent's, and none of the agent's secrets.
    private func statusAnswerForApp(_ body: [UInt8], task: TaskRecord?) async -> [UInt8] {
        let scrubbed = context.scrubber.scrub(body)
        let echoes = context.callbackEcho.echoes(in: scrubbed)
        guard !echoes.isEmpty else { return scrubbed }
        var appURL = task?.callbackURL
        if appURL == nil, let token = echoes.lazy.compactMap(\.token).first {
            // The create answer was never stored: the route still names the app's URL.
            appURL = try? await context.writer.write { ctx in try ctx.route(token: token)?.callbackURL }
        }
        guard let appURL else { return scrubbed }
        return EchoedCallbackURL.replacing(echoes, in: scrubbed, with: appURL)
    }

    /// The `model` a chat request names (its top-level member), if any.
    static func chatModel(_ body: [UInt8]) -> String? {
        guard !body.isEmpty, let members = JSONMemberSplice.stringMembers(named: "model", in: body) else { return nil }
        return members.first.flatMap { ModelCatalogue.sanitize($0.value) }
    }

    /// Upstream unreachable, reset or timing out: a Kie-shaped answer with the same HTTP status.
    private func failed(_ error: HTTPClientError, call: inout APICallRecord, started: UInt64) async -> HTTPResponse {
        let timedOut = error == .timeout
        let status = timedOut ? 504 : 502
        call.failed(error, started: started)
        // Recorded as the app was answered.
        call.httpStatus = status
        call.bodyCode = status
        if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
        observe(call)
        context.logger.warn(
            "proxy.upstream_failed",
            ["path": URLRedaction.redact(call.path), "error": "\(error)", "status": String(status)])
        let message = timedOut ? "kiewatch: upstream timed out" : "kiewatch: upstream unreachable (\(error))"
        return .kieError(code: status, msg: message, status: status)
    }

    /// A create answered by the agent and never forwarded (nothing is billed): its callback
    /// route could not be committed (503), or its callBackUrl is one the relay could never call
    /// (Kie's validation shape, code 422 with HTTP 200). Recorded like any call.
    private func notForwarded(
        request: HTTPRequest, endpoint: KieEndpoint, model: String?, now: EpochMillis, started: UInt64,
        code: Int, status: Int, outcome: CallOutcome, msg: String, reason: String
    ) -> HTTPResponse {
        var call = APICallRecord.sending(
            endpoint, method: request.method, path: request.target, model: model, requestBytes: request.body.count,
            at: now)
        call.latencyMicros = Int64((monotonicNanos() - started) / 1000)
        call.httpStatus = status
        call.bodyCode = code
        call.outcome = outcome
        call.error = reason
        if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
        observe(call)
        return .kieError(code: code, msg: msg, status: status)
    }

    private func recordCreate(
        taskID: String, family: TaskFamily, create: KieWire.CreateRequest?, route: CallbackRoute?, call: APICallRecord,
        now: EpochMillis
    ) async {
        let model = create?.model ?? TaskLifecycle.unknownModel
        let appURL = create?.callBackURL
        let deadline = context.deadlines.deadline(for: model)
        let task = TaskRecord(
            taskID: taskID, family: family, model: model, createdAt: now, callbackURL: appURL,
            expectsCallback: appURL != nil, deadlineAt: now + deadline.millis)
        do {
            // Committed before the app learns the task id. Should this fail, the route committed
            // before forwarding still maps the callbacks to the app.
            let token = route?.token
            let inserted = try await context.writer.write { ctx in
                try TaskWrites.recordCreate(ctx, task: task, route: token, call: call)
            }
            observe(call)
            if inserted { context.metrics.tasksCreated.labels(model).increment() }
        } catch {
            context.storeFailed("task_create", error, task: taskID)
            observe(call)
        }
    }

    /// Kie refused the create: no task, no callback; the route goes.
    private func recordRefusedCreate(route: CallbackRoute, call: APICallRecord) async {
        let token = route.token
        do {
            try await context.writer.write { ctx in try TaskWrites.recordRefusedCreate(ctx, route: token, call: call) }
        } catch {
            context.storeFailed("api_call", error)
        }
        observe(call)
    }

    /// Records a status call; returns the task it is about, if stored.
    private func recordStatus(
        report: TaskReport?, call: APICallRecord, statusData: JSONValue = .null, now: EpochMillis
    ) async -> TaskRecord? {
        var call = call
        let recorded = call
        let scrubber = context.scrubber
        var task: TaskRecord?
        do {
            let outcome = try await context.writer.write { ctx in
                try TaskWrites.recordStatus(
                    ctx, report: report, taskID: recorded.taskID, call: recorded, statusData: statusData,
                    scrubber: scrubber, now: now)
            }
            call.model = call.model ?? outcome.model
            if outcome.transition.becameTerminal, let task = outcome.task {
                TaskMetrics.finished(task, context: context)
            }
            if outcome.missed, let task = outcome.task {
                // Kie says its callback failed (Luma's flag 4): missed now, not at the deadline.
                context.metrics.webhooksMissed.labels(task.model).increment()
                context.relayWakeup.signal()
                context.logger.info("proxy.callback_failed", ["task": task.taskID, "model": task.model])
            }
            task = outcome.task
        } catch {
            context.storeFailed("status_call", error, task: call.taskID)
        }
        observe(call)
        return task
    }

    private func observe(_ call: APICallRecord) { context.metrics.observe(call) }
}

/// The store's queue was full: the writer is far behind (disk stalled).
struct StoreQueueFull: Error, CustomStringConvertible {
    var description: String { "store queue full: the writer is behind" }
}
