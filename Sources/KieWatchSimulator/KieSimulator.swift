import KieWatchCore
import KieWatchHTTP
import Synchronization

/// A faithful fake Kie.ai: every task family of the family table (`TaskFamily.all`: market, Veo
/// and its extend and 4K jobs, Runway, Aleph, Luma, Suno, GPT-4o image, Flux Kontext,
/// Midjourney) with its payload shapes, a task lifecycle on virtual time, callbacks with Kie's
/// retry rule, and seeded fault injection; plus
/// the account calls (credit, uploads, download links) and Kie's chat paths with a canned answer.
///
/// It is a plain `HTTPHandler`, so tests call `handle(_:)` directly and `kiewatch simulate`
/// puts it behind the socket server. All timing reads the injected `WallClock`: with a
/// `TestClock`, advance the clock and call `tick()`; in real time, run `run()` alongside the server.
///
/// ```swift
/// let clock = TestClock()
/// let sim = KieSimulator(configuration: .init(), clock: clock, callbackSender: mySender)
/// _ = await sim.handle(HTTPRequest(method: "POST", target: "/api/v1/jobs/createTask", ...))
/// clock.advance(byMillis: 600_000)
/// await sim.tick()   // tasks finish, callbacks are posted through mySender
/// ```
///
/// State lives in one `Mutex`, never held across an `await`, so the class is `Sendable` without
/// `@unchecked`.
public final class KieSimulator: HTTPHandler {
    public let configuration: SimulatorConfiguration
    let clock: any WallClock
    let callbackSender: any CallbackSender
    let state: Mutex<SimulatorState>
    /// Maintenance windows are measured from here.
    let startTime: EpochMillis

    /// The answer that means "drop the connection without answering": status 0 is not an HTTP
    /// status, and the server closes (resets) the connection instead of writing a response
    /// when a handler returns it. This is how connection resets are injected.
    public static let connectionReset = HTTPResponse.abortConnection

    public init(configuration: SimulatorConfiguration, clock: any WallClock, callbackSender: any CallbackSender) {
        precondition(configuration.speed > 0, "speed must be greater than 0")
        self.configuration = configuration
        self.clock = clock
        self.callbackSender = callbackSender
        self.startTime = clock.now()
        self.state = Mutex(SimulatorState(configuration: configuration))
    }

    // MARK: Routing

    /// The endpoints the simulator knows; anything else answers 404. Task creates and status
    /// calls are the family table's (`TaskFamily.all`): a create path answers POST, a status
    /// path GET.
    enum Route: Equatable {
        case create(TaskFamily, TaskFamily.Endpoint)
        case status(TaskFamily.Endpoint)
        case veo1080p, credit, downloadURL
        case upload(UploadKind)
        case chat(ChatRoute)

        enum UploadKind: Equatable { case base64, url, stream }

        init?(method: String, path: Substring) {
            switch (method, TaskFamily.role(ofPath: path)) {
            case ("POST", .create(let family, let endpoint)?):
                self = .create(family, endpoint)
                return
            case ("GET", .status(_, let endpoint)?):
                self = .status(endpoint)
                return
            default: break
            }
            switch (method, path) {
            case ("GET", "/api/v1/veo/get-1080p-video"): self = .veo1080p
            case ("GET", "/api/v1/chat/credit"): self = .credit
            case ("POST", "/api/v1/common/download-url"): self = .downloadURL
            case ("POST", "/api/file-base64-upload"): self = .upload(.base64)
            case ("POST", "/api/file-url-upload"): self = .upload(.url)
            case ("POST", "/api/file-stream-upload"): self = .upload(.stream)
            case ("POST", _):
                guard TaskFamily.role(ofPath: path) == nil, let chat = ChatRoute(path: path) else { return nil }
                self = .chat(chat)
            default: return nil
            }
        }

        var createsTask: Bool {
            if case .create = self { return true }
            return false
        }
    }

    /// Handles one request, applying the faults in the order a real path would (inspection paths,
    /// `/_simulator/...`, are answered first and are not part of the fake Kie): maintenance and
    /// network faults first (they happen before Kie's application sees the request), then routing,
    /// the key check, the create rate limit, and the endpoint itself.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if request.path.hasPrefix(Self.inspectionPathPrefix) { return inspect(request) }
        let now = clock.now()
        let faults = state.withLock { state in
            state.stats.requests += 1
            return state.drawRequestFaults(configuration: configuration)
        }
        if inMaintenance(at: now) {
            state.withLock { $0.stats.maintenanceAnswers += 1 }
            return .kieError(code: 455, msg: "Service Unavailable", status: 200)
        }
        if faults.reset {
            state.withLock { $0.stats.connectionResets += 1 }
            return Self.connectionReset
        }
        if faults.slow {
            state.withLock { $0.stats.slowAnswers += 1 }
            if configuration.slowAnswerDelay > .zero { try? await Task.sleep(for: configuration.slowAnswerDelay) }
        }
        if let serverError = faults.serverError {
            state.withLock { $0.stats.serverErrors += 1 }
            return serverError.response
        }
        guard let route = Route(method: request.method, path: request.path) else {
            state.withLock { $0.stats.notFound += 1 }
            return .kieError(code: 404, msg: "Not Found", status: 404)
        }
        guard let key = authorizedKey(request) else {
            state.withLock { $0.stats.unauthorized += 1 }
            return .kieError(code: 401, msg: "You do not have access permissions", status: 200)
        }
        if route.createsTask {
            let allowed = state.withLock { state in
                let allowed = state.allowCreate(key: key, now: now, limit: configuration.rateLimit)
                if !allowed { state.stats.rateLimited += 1 }
                return allowed
            }
            if !allowed { return .kieError(code: 429, msg: "Too many requests", status: 200) }
        }
        switch route {
        case .create(.market, _): return await createMarketTask(request, now: now)
        case .create(.veo, _): return await createVeoTask(request, now: now)
        case .create(let family, let endpoint): return await createFamilyTask(request, family: family, endpoint: endpoint, now: now)
        case .status(let endpoint): return statusAnswer(request, endpoint: endpoint, now: now)
        case .veo1080p: return veo1080pVideo(request, now: now)
        case .credit: return credit()
        case .downloadURL: return downloadURL(request)
        case .upload(let kind): return upload(request, kind: kind, now: now)
        case .chat(let chat): return answerChat(request, route: chat, now: now)
        }
    }

    /// The bearer key if it is accepted: any non-empty key when `acceptedKeys` is empty.
    func authorizedKey(_ request: HTTPRequest) -> String? {
        guard let header = request.headers["Authorization"] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, String(parts[0]).equalsIgnoringASCIICase("Bearer") else { return nil }
        let key = parts[1].trimmingCharacters(in: " \t")
        guard !key.isEmpty else { return nil }
        if !configuration.acceptedKeys.isEmpty && !configuration.acceptedKeys.contains(key) { return nil }
        return key
    }

    func inMaintenance(at now: EpochMillis) -> Bool {
        let elapsed = now - startTime
        return configuration.maintenanceWindows.contains { window in
            let start = window.start.milliseconds
            return elapsed >= start && elapsed < start + window.duration.milliseconds
        }
    }

    // MARK: Common answers

    /// `{"code":200,"msg":"success","data":...}`.
    static func success(_ data: JSONValue) -> HTTPResponse {
        .json(["code": 200, "msg": "success", "data": data])
    }

    /// A validation error: HTTP 200, body code 400 or 422, counted.
    func invalid(_ code: Int, _ msg: String) -> HTTPResponse {
        state.withLock { $0.stats.validationErrors += 1 }
        return .kieError(code: code, msg: msg, status: 200)
    }

    /// The request body as a JSON object, or nil.
    static func jsonObject(_ body: [UInt8]) -> JSONValue? {
        guard let value = try? JSONValue.parse(body), value.objectValue != nil else { return nil }
        return value
    }

    /// A callBackUrl must be an absolute http(s) URL; Kie refuses anything else at create.
    static func isValidCallbackURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        return (lower.hasPrefix("http://") || lower.hasPrefix("https://")) && url.count > "https://".count
    }

    /// Admits a task and, for an early-callback task, delivers its callbacks before answering
    /// `{"taskId": <Kie's id>}` (plus the family's `createAnswerNulls`).
    func admit(
        family: TaskFamily, model: String, request: JSONValue, callBackUrl: String?, resolution: String,
        id: String? = nil, kieTaskId: String? = nil, sourceTaskId: String? = nil, now: EpochMillis
    ) async -> HTTPResponse {
        let admission = state.withLock {
            $0.admit(
                family: family, model: model, request: request, callBackUrl: callBackUrl, resolution: resolution, id: id,
                kieTaskId: kieTaskId, sourceTaskId: sourceTaskId, now: now, configuration: configuration)
        }
        switch admission {
        case .rejected(let response):
            return response
        case .accepted(let task, let early):
            if !early.isEmpty { await deliver(early) }
            var data: [(key: String, value: JSONValue)] = [("taskId", .string(task.kieTaskId))]
            for name in SimulatedFamily.of(family).createAnswerNulls { data.append((name, .null)) }
            return Self.success(.object(data))
        }
    }

    // MARK: Inspection

    /// Counters so far. Tasks are counted as finished when a `tick()` or a status call moves them.
    public func snapshot() -> SimulatorStats {
        state.withLock { $0.stats }
    }

    /// Callback attempts so far, in the order they were recorded (the latest
    /// `maxRecordedDeliveries` of them).
    public func deliveries() -> [CallbackDelivery] {
        state.withLock { $0.deliveries }
    }

    /// Makes the task end with a status answer of body `code` (`501` generation failed, `408` no
    /// result for over 10 minutes): its status calls answer that code with no record once it has
    /// ended, and, if it has not ended yet, it fails with that code. False for an unknown id, and
    /// for a job that reuses its parent's id (Veo 4K: its status is its own request sent again).
    @discardableResult
    public func injectStatusFault(_ code: Int, taskId: String) -> Bool {
        state.withLock { state in
            guard var task = state.tasks[taskId], task.family.parentTaskSuffix == nil else { return false }
            if task.state.isTerminal {
                task.plan.statusFault = code
            } else {
                task.plan.failStatus(with: code, family: task.family)
            }
            state.tasks[taskId] = task
            return true
        }
    }

    /// Milliseconds of a Kie-side delay on the simulated clock (divided by `speed`; a tiny speed
    /// makes it "forever", capped far below overflow).
    func scaledMillis(_ duration: Duration) -> Int64 {
        let scaled = (Double(duration.milliseconds) / configuration.speed).rounded()
        let forever = Double(Int64.max / 4)
        return scaled.isFinite && scaled < forever ? Int64(scaled) : Int64(forever)
    }

    /// The task as of now (its state moved to the clock, as a status call would see it).
    public func task(id: String) -> SimulatedTask? {
        let now = clock.now()
        return state.withLock { state in
            state.advance(id, to: now, configuration: configuration)
            return state.tasks[id]
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
