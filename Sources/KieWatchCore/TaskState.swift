/// The normalized lifecycle of a Kie generation task, shared by both endpoint families.
///
/// `created` is kiewatch's own state between the create answer and the first status Kie reports.
public enum TaskState: String, Sendable, CaseIterable, Codable {
    case created, waiting, queuing, generating, success, fail

    public var isTerminal: Bool { self == .success || self == .fail }

    /// Market `data.state` strings; unknown strings are `nil` (the caller keeps the old state).
    public init?(marketState raw: String) {
        switch raw.lowercased() {
        case "waiting": self = .waiting
        case "queuing", "queueing", "queued": self = .queuing
        case "generating", "processing", "running": self = .generating
        case "success", "succeeded", "completed": self = .success
        case "fail", "failed", "failure", "error": self = .fail
        default: return nil
        }
    }

    /// Veo `successFlag`: 0 generating, 1 success, 2 failed, 3 created but generation failed.
    public init?(veoSuccessFlag flag: Int) {
        switch flag {
        case 0: self = .generating
        case 1: self = .success
        case 2, 3: self = .fail
        default: return nil
        }
    }

    /// Whether moving from `self` to `next` is progress (states never go backwards,
    /// and a terminal state is final).
    public func canAdvance(to next: TaskState) -> Bool {
        if isTerminal { return false }
        return next.rank > rank
    }

    private var rank: Int {
        switch self {
        case .created: 0
        case .waiting: 1
        case .queuing: 2
        case .generating: 3
        case .success, .fail: 4
        }
    }
}
