import KieWatchCore
import KieWatchHTTP
import KieWatchStore

/// The recording reverse proxy: `/api/...` to Kie (`/api/file-*` to the upload host), one
/// stored row per call, callBackUrl rewritten so Kie calls the agent, task rows committed
/// before the app sees its task id, status answers moving tasks along.
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

        // Create calls: keep the app's callBackUrl for the task, send Kie the agent's.
        var body = request.body
        var create: KieWire.CreateRequest?
        if endpoint.createsTask, let family = endpoint.family, let json = try? JSONValue.parse(request.body) {
            let parsed = KieWire.createRequest(json, family: family)
            create = parsed
            if parsed.callBackURL != nil {
                body = KieWire.replacingCallBackURL(in: json, with: context.callbackURL(for: family)).serializedBytes()
            }
        }

        var headers = HTTPHeaders()
        for field in request.headers where !Self.droppedRequestHeaders.contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        let base = endpoint == .upload ? config.uploadUpstream : config.upstream
        var call = APICallRecord(
            ts: now, endpoint: endpoint, model: create?.model,
            taskID: KieWire.referencedTaskId(
                queryTaskId: request.queryItem("taskId"),
                body: endpoint == .other && request.path.hasPrefix("/api/") ? request.body : []),
            method: request.method, path: request.target, httpStatus: 0, bodyCode: nil, latencyMicros: 0,
            requestBytes: Int64(request.body.count), responseBytes: 0, outcome: .error)

        let response: HTTPResponse
        do {
            let upstreamRequest = try HTTPClientRequest(
                method: request.method, url: base + request.target, headers: headers, body: body)
            if endpoint.createsTask { context.createWindow.record() }
            response = try await context.upstream.send(
                upstreamRequest, timeout: .milliseconds(config.upstreamTimeoutMillis))
        } catch {
            return await failed(error, call: &call, started: started)
        }

        call.latencyMicros = Int64((monotonicNanos() - started) / 1000)
        call.httpStatus = response.status
        call.responseBytes = Int64(response.body.count)
        let envelope = KieEnvelope(body: response.body)
        call.bodyCode = envelope?.code
        call.outcome = CallOutcome.classify(httpStatus: response.status, bodyCode: envelope?.code)

        if endpoint.createsTask, let family = endpoint.family, let envelope, let taskID = KieWire.createdTaskId(envelope) {
            call.taskID = taskID
            await recordCreate(taskID: taskID, family: family, create: create, call: call, now: now)
        } else if endpoint.reportsStatus, let family = endpoint.family {
            let report = envelope.flatMap {
                KieWire.statusAnswer($0, httpStatus: response.status, family: family, taskId: call.taskID).report
            }
            await recordStatus(report: report, call: call, now: now)
        } else if call.taskID != nil {
            // A call about a task (Veo 1080p, 4K, extend, ...): recorded with the stored task's model.
            await recordStatus(report: nil, call: call, now: now)
        } else {
            if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
            observe(call)
        }
        if endpoint == .credit, let envelope, let balance = KieWire.creditBalance(envelope) {
            CreditTracker.publish(balance: balance, context: context)
        }

        var out = HTTPHeaders()
        for field in response.headers where !Self.droppedResponseHeaders.contains(field.name.lowercased()) {
            out.add(field.name, field.value)
        }
        // Status answers echo the create request, with the agent's callback URL and secret in it.
        let answer = endpoint.reportsStatus ? context.scrubber.scrub(response.body) : response.body
        return HTTPResponse(status: response.status, headers: out, body: answer)
    }

    /// Upstream unreachable, reset or timing out: a Kie-shaped answer with the same HTTP status.
    private func failed(_ error: HTTPClientError, call: inout APICallRecord, started: UInt64) async -> HTTPResponse {
        let timedOut = error == .timeout
        let status = timedOut ? 504 : 502
        call.latencyMicros = Int64((monotonicNanos() - started) / 1000)
        call.httpStatus = status
        call.bodyCode = status
        call.outcome = timedOut ? .timeout : .error
        call.error = "\(error)"
        if !context.writer.record(call) { context.storeFailed("api_call", StoreQueueFull()) }
        observe(call)
        context.logger.warn(
            "proxy.upstream_failed",
            ["path": URLRedaction.redact(call.path), "error": "\(error)", "status": String(status)])
        let message = timedOut ? "kiewatch: upstream timed out" : "kiewatch: upstream unreachable (\(error))"
        return .kieError(code: status, msg: message, status: status)
    }

    private func recordCreate(
        taskID: String, family: ModelFamily, create: KieWire.CreateRequest?, call: APICallRecord, now: EpochMillis
    ) async {
        let model = create?.model ?? TaskLifecycle.unknownModel
        let appURL = create?.callBackURL
        let deadline = context.deadlines.deadline(for: model)
        let task = TaskRecord(
            taskID: taskID, family: family, model: model, createdAt: now, callbackURL: appURL,
            expectsCallback: appURL != nil, deadlineAt: now + deadline.millis)
        do {
            // Committed before the app learns the task id: a kill -9 now loses no mapping.
            let outcome = try await context.writer.write { ctx in
                try TaskWrites.recordCreate(ctx, task: task, call: call, now: now)
            }
            observe(call)
            context.metrics.tasksCreated.labels(model).increment()
            if let early = outcome.earlyCallback {
                WebhookReceiver.observe(early, model: model, context: context)
            }
        } catch {
            context.storeFailed("task_create", error, task: taskID)
            observe(call)
        }
    }

    private func recordStatus(report: TaskReport?, call: APICallRecord, now: EpochMillis) async {
        var call = call
        let recorded = call
        do {
            let outcome = try await context.writer.write { ctx in
                try TaskWrites.recordStatus(ctx, report: report, taskID: recorded.taskID, call: recorded, now: now)
            }
            call.model = call.model ?? outcome.model
            if outcome.transition.becameTerminal, let task = outcome.task {
                TaskMetrics.finished(task, context: context)
            }
        } catch {
            context.storeFailed("status_call", error, task: call.taskID)
        }
        observe(call)
    }

    private func observe(_ call: APICallRecord) { context.metrics.observe(call) }
}

/// The store's queue was full: the writer is far behind (disk stalled).
struct StoreQueueFull: Error, CustomStringConvertible {
    var description: String { "store queue full: the writer is behind" }
}
