/// The one time limit of a graceful stop, shared by its steps in their order: each step gets
/// what the steps before it left (`remaining`), so the stop as a whole never runs past it,
/// whatever one step is waiting for (a hung upstream call, a blocked DNS lookup).
public struct ShutdownDeadline: Sendable {
    private let end: ContinuousClock.Instant

    public init(after grace: Duration) {
        end = ContinuousClock.now.advanced(by: max(grace, .zero))
    }

    /// A deadline already over: stop now.
    public static var over: ShutdownDeadline { ShutdownDeadline(after: .zero) }

    /// Time left, never negative.
    public var remaining: Duration { max(.zero, ContinuousClock.now.duration(to: end)) }
}
