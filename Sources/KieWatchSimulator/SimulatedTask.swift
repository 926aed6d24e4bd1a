import KieWatchCore

/// One generation task inside the simulator: what was asked, when each phase starts, and how it ends.
///
/// The whole timeline is fixed at create (from its `FaultPlan`), so the state at any instant is
/// a function of the clock; `advance(to:)` only moves the stored `state` forward to match it, which
/// is what the status endpoints and `KieSimulator.tick()` do.
public struct SimulatedTask: Sendable {
    public let id: String
    public let family: TaskFamily
    public let model: String
    /// The create request body as received; `param` (market) and `paramJson` (Veo) are its JSON text.
    public let request: JSONValue
    /// Where the callback goes; nil means no callback, as at Kie.
    public let callBackUrl: String?
    public let createTime: EpochMillis
    public let queuingAt: EpochMillis
    public let generatingAt: EpochMillis
    /// When the task reaches `success` or `fail`.
    public let completeAt: EpochMillis
    /// Credits reserved at create; consumed on success, returned on failure.
    public let cost: Int64
    public internal(set) var plan: FaultPlan
    /// Veo only: the `resolution` reported on success (1080p for 16:9, 720p otherwise).
    public let resolution: String
    let reportsProgress: Bool
    /// Image models answer image URLs, the others video URLs.
    let producesImages: Bool
    let mediaBaseURL: String

    public internal(set) var state: TaskState = .waiting
    /// Time of the last state change, Kie's `updateTime`.
    public internal(set) var updateTime: EpochMillis
    /// The account balance right after this task ended (older callbacks report it as `remainedCredits`).
    public internal(set) var remainedCredits: Int64?

    init(
        id: String, family: TaskFamily, model: String, request: JSONValue, callBackUrl: String?, createTime: EpochMillis,
        cost: Int64, plan: FaultPlan, profile: ModelProfile, resolution: String, mediaBaseURL: String
    ) {
        self.id = id
        self.family = family
        self.model = model
        self.request = request
        self.callBackUrl = callBackUrl
        self.createTime = createTime
        self.cost = cost
        self.plan = plan
        self.reportsProgress = profile.reportsProgress
        self.producesImages = profile.producesImages
        self.resolution = resolution
        self.mediaBaseURL = mediaBaseURL
        if plan.early {
            queuingAt = createTime
            generatingAt = createTime
            completeAt = createTime
        } else {
            queuingAt = createTime + plan.waitingMillis
            generatingAt = queuingAt + plan.queuingMillis
            completeAt = generatingAt + plan.generatingMillis
        }
        updateTime = createTime
    }

    /// The terminal state this task ends in.
    public var outcome: TaskState { plan.failure == nil ? .success : .fail }

    /// The state the timeline prescribes at `now`.
    public func scheduledState(at now: EpochMillis) -> TaskState {
        if now >= completeAt { return outcome }
        if now >= generatingAt { return .generating }
        if now >= queuingAt { return .queuing }
        return .waiting
    }

    /// Moves `state` forward to the scheduled one; returns true when this made the task terminal.
    mutating func advance(to now: EpochMillis) -> Bool {
        let next = scheduledState(at: now)
        guard next != state, state.canAdvance(to: next) else { return false }
        state = next
        switch next {
        case .queuing: updateTime = queuingAt
        case .generating: updateTime = generatingAt
        case .success, .fail: updateTime = completeAt
        case .created, .waiting: break
        }
        return next.isTerminal
    }

    /// The next instant at which the scheduled state changes, or nil when terminal.
    var nextTransition: EpochMillis? {
        switch state {
        case .created, .waiting: queuingAt
        case .queuing: generatingAt
        case .generating: completeAt
        case .success, .fail: nil
        }
    }

    /// Sora's `progress` (0–100) at `now`: linear over the generation phase, 100 only on success.
    public func progress(at now: EpochMillis) -> Int {
        if state == .success { return 100 }
        let elapsed = min(now, completeAt) - generatingAt
        guard elapsed > 0 else { return 0 }
        let span = max(completeAt - generatingAt, 1)
        return Int(min(99, elapsed * 100 / span))
    }

    /// Milliseconds from create to completion, Kie's `costTime`.
    public var costTime: Int64 { completeAt - createTime }

    /// The request body as Kie echoes it (`param` / `paramJson`).
    public var param: String { request.serialized() }

    public var resultUrls: [String] { [media(id)] }
    public var originUrls: [String] { [media("\(id)-origin")] }
    var watermarkUrls: [String] { [media("\(id)-watermark")] }
    /// Veo's 1080p file (`get-1080p-video`).
    var hdResultURL: String { media("\(id)-1080p") }

    private func media(_ name: String) -> String {
        producesImages ? "\(mediaBaseURL)/images/\(name).png" : "\(mediaBaseURL)/videos/\(name).mp4"
    }
}

extension SimulatedTask {
    /// The task as Kie reports it, for the family table's writers (`KieWire.statusData`,
    /// `KieWire.callbackBody`).
    var report: TaskReport {
        let failure = state == .fail ? plan.failure : nil
        return TaskReport(
            taskId: id, family: family, model: model, state: state, createdAt: createTime,
            completedAt: state.isTerminal ? completeAt : nil, failCode: failure.map { String($0.code) },
            failMessage: failure?.message, resultURLs: state == .success ? resultUrls : [],
            creditsConsumed: state.isTerminal ? Double(state == .success ? cost : 0) : nil)
    }
}
