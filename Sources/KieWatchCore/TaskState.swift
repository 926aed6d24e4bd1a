/// The normalized lifecycle of a Kie generation task, shared by every task family (each family's spellings are in `TaskFamily`).
///
/// `created` is kiewatch's own state between the create answer and the first status Kie reports.
public enum TaskState: String, Sendable, CaseIterable, Codable {
    case created, waiting, queuing, generating, success, fail

    public var isTerminal: Bool { self == .success || self == .fail }

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
