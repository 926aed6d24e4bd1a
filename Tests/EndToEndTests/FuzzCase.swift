import KieWatchCore

/// One generated request and what the agent must do with it.
struct FuzzCase {
    var index: Int
    /// `class=detail` (e.g. `json.number.completeTime=1e16`): named in failure reports and matched
    /// by `KIEWATCH_FUZZ_EXCLUDE`.
    var label: String
    var bytes: [UInt8]
    var expectation: FuzzExpectation
    /// A webhook delivery the agent may acknowledge: the task id its row must carry when it does.
    var taskID: String?

    /// A HEAD request: its answer has a Content-Length but no body.
    var isHead: Bool { bytes.starts(with: Array("HEAD ".utf8)) }
}

/// What the agent must answer to one case.
enum FuzzExpectation: Equatable, CustomStringConvertible {
    /// Sent pipelined on a kept-open connection: exactly one response, with one of these statuses.
    case answer(Set<Int>)
    /// Sent on a connection of its own, which is then half-closed: the first response has one of
    /// `first` (nil: no response at all is fine too, and it must be a refusal), every later one
    /// is a refusal (>= 400). Framing garbage, bodies cut short, and requests that close.
    case alone(first: Set<Int>?)

    var isAlone: Bool {
        if case .alone = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .answer(let statuses): "one answer with status in \(statuses.sorted())"
        case .alone(let first?):
            "alone: first answer with status in \(first.sorted()), then only refusals or the close"
        case .alone(nil): "alone: only refusals (>= 400) or the close, never 1xx-3xx"
        }
    }
}

/// What the agent did with one case.
struct FuzzOutcome {
    var index: Int
    var reads: [FuzzConnection.Read]
}

/// A task the test created through the agent's proxy, so deliveries for it take the
/// known-task path (lifecycle, rollups, relay).
struct FuzzKnownTask: Sendable {
    var id: String
    var family: TaskFamily
}
