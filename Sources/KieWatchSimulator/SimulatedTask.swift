import KieWatchCore

/// One generation task inside the simulator: what was asked, when each phase starts, and how it ends.
///
/// The whole timeline is fixed at create (from its `FaultPlan`), so the state at any instant is
/// a function of the clock; `advance(to:)` only moves the stored `state` forward to match it, which
/// is what the status endpoints and `KieSimulator.tick()` do.
public struct SimulatedTask: Sendable {
    /// The simulator's key for the task: Kie's task id, or for a job that reuses an earlier
    /// task's id (Veo 4K) that id with the family's suffix (`TaskFamily.trackedTaskID`).
    public let id: String
    /// The id Kie's answers and callbacks name (the parent's, for a Veo 4K job).
    public let kieTaskId: String
    /// The earlier task the create named (Veo extend, Veo 4K, Runway extend), if any.
    public let sourceTaskId: String?
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
    /// What the result URLs point at (videos, images, songs), and how many there are.
    let media: ModelProfile.Media
    let resultCount: Int
    let mediaBaseURL: String

    public internal(set) var state: TaskState = .waiting
    /// Time of the last state change, Kie's `updateTime`.
    public internal(set) var updateTime: EpochMillis
    /// The account balance right after this task ended (older callbacks report it as `remainedCredits`).
    public internal(set) var remainedCredits: Int64?
    /// A callback of the task was dropped by a fault or ran out of retries (Luma reports a
    /// successful task so as `successFlag` 4).
    public internal(set) var callbackFailed = false
    /// Progress callbacks scheduled so far (Suno's `text`, `first`).
    var progressScheduled = 0

    init(
        id: String, kieTaskId: String? = nil, sourceTaskId: String? = nil, family: TaskFamily, model: String,
        request: JSONValue, callBackUrl: String?, createTime: EpochMillis, cost: Int64, plan: FaultPlan,
        profile: ModelProfile, resolution: String, resultCount: Int = 1, mediaBaseURL: String
    ) {
        self.id = id
        self.kieTaskId = kieTaskId ?? id
        self.sourceTaskId = sourceTaskId
        self.family = family
        self.model = model
        self.request = request
        self.callBackUrl = callBackUrl
        self.createTime = createTime
        self.cost = cost
        self.plan = plan
        self.reportsProgress = profile.reportsProgress
        self.media = profile.media
        self.resultCount = max(resultCount, 1)
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

    /// The next instant at which the scheduled state changes or a progress callback is due, or
    /// nil when terminal.
    var nextTransition: EpochMillis? {
        let change: EpochMillis? =
            switch state {
            case .created, .waiting: queuingAt
            case .queuing: generatingAt
            case .generating: completeAt
            case .success, .fail: nil
            }
        guard let change else { return nil }
        let progress = progressScheduled < progressTimes.count ? progressTimes[progressScheduled] : nil
        return min(change, progress ?? change)
    }

    // MARK: Progress callbacks

    /// The kinds of callback a task sends while it runs (Suno's `text`, `first`), in order.
    var progressKinds: [String] { family.callbacks.progress }

    /// When each progress callback is due: spread evenly over the generation phase, the first
    /// as generation starts (Suno has the lyrics before the songs). Whatever the task's outcome:
    /// a task that fails sends them, then its failure callback.
    var progressTimes: [EpochMillis] {
        let kinds = progressKinds.count
        guard kinds > 0 else { return [] }
        let span = completeAt - generatingAt
        return (0..<kinds).map { generatingAt + span * Int64($0) / Int64(kinds) }
    }

    /// Progress steps reached at `now`.
    func progressSteps(at now: EpochMillis) -> Int { progressTimes.count(where: { $0 <= now }) }

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

    public var resultUrls: [String] {
        (0..<resultCount).map { media($0 == 0 ? fileName : "\(fileName)-\($0 + 1)") }
    }
    public var originUrls: [String] { [media("\(fileName)-origin")] }
    var watermarkUrls: [String] { [media("\(fileName)-watermark")] }
    /// Veo's 1080p file (`get-1080p-video`).
    var hdResultURL: String { media("\(fileName)-1080p") }
    /// Poster images of a video (Veo 4K's `imageUrls`).
    var posterUrls: [String] { ["\(mediaBaseURL)/images/\(fileName)-poster.jpg"] }

    /// The id as a file name (a 4K job's `#` would start a URL fragment).
    private var fileName: String { String(id.map { $0 == "#" ? "-" : $0 }) }

    private func media(_ name: String) -> String {
        switch media {
        case .video: "\(mediaBaseURL)/videos/\(name).mp4"
        case .image: "\(mediaBaseURL)/images/\(name).png"
        case .audio: "\(mediaBaseURL)/audio/\(name).mp3"
        }
    }
}

extension SimulatedTask {
    /// The task as Kie reports it, for the family table's writers (`KieWire.statusData`,
    /// `KieWire.callbackBody`): named by Kie's id, with Luma's "callback failed" when a
    /// successful task's callback was lost and the family says so.
    var report: TaskReport {
        let failure = state == .fail ? plan.failure : nil
        var report = TaskReport(
            taskId: kieTaskId, family: family, model: model, state: state, createdAt: createTime,
            completedAt: state.isTerminal ? completeAt : nil, failCode: failure.map { String($0.code) },
            failMessage: failure?.message, resultURLs: state == .success ? resultUrls : [],
            creditsConsumed: state.isTerminal ? Double(state == .success ? cost : 0) : nil)
        report.callbackFailed =
            callbackFailed && state == .success
            && family.states.contains { $0.value(for: TaskFamily.StateMeaning.successCallbackFailed) != nil }
        return report
    }

    /// The report a progress callback carries: running, its kind, and the results made so far
    /// (Suno's `text`: none; `first`: the first song).
    func progressReport(step: Int) -> TaskReport {
        let kinds = progressKinds
        let made = resultUrls.prefix(resultCount * step / max(kinds.count, 1))
        return TaskReport(
            taskId: kieTaskId, family: family, model: model, state: .generating, createdAt: createTime,
            resultURLs: Array(made), callbackKind: step < kinds.count ? kinds[step] : nil)
    }
}
