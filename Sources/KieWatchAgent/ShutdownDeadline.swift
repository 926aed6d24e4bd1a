import Synchronization

/// The one time limit of a graceful stop, shared by its steps in their order: each step gets
/// what the steps before it left (`remaining`), so the stop as a whole never runs past it,
/// whatever one step is waiting for (a hung upstream call, a blocked DNS lookup).
public struct ShutdownDeadline: Sendable {
    private let end: ContinuousClock.Instant

    public init(after grace: Duration) {
        end = ContinuousClock.now.advanced(by: max(grace, .zero))
    }

    /// Time left, never negative.
    public var remaining: Duration { max(.zero, ContinuousClock.now.duration(to: end)) }

    /// Waits for `tasks` to end, but not past the deadline; returns whether they all ended.
    /// Tasks still running then are abandoned, not awaited (cancel them first).
    package func wait(for tasks: [Task<Void, Never>]) async -> Bool {
        let limit = remaining
        return await firstToFinish(
            { for task in tasks { await task.value }; return true },
            {
                try? await Task.sleep(for: limit)
                return false
            })
    }
}

/// The result of whichever of `first` and `second` finishes first. Both run in unstructured
/// tasks; the other one is cancelled and not awaited (it must end on its own or be harmless
/// to abandon).
package func firstToFinish<T: Sendable>(
    _ first: @escaping @Sendable () async -> T, _ second: @escaping @Sendable () async -> T
) async -> T {
    let race = Race<T>()
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        race.start(continuation, [first, second])
    }
    race.cancelAll()
    return result
}

/// The state of `firstToFinish`: the continuation only the first finisher takes.
private final class Race<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)
    private let tasks = Mutex<[Task<Void, Never>]>([])

    func start(_ continuation: CheckedContinuation<T, Never>, _ operations: [@Sendable () async -> T]) {
        self.continuation.withLock { $0 = continuation }
        for operation in operations {
            let task = Task {
                let value = await operation()
                self.continuation.withLock { $0.take() }?.resume(returning: value)
            }
            tasks.withLock { $0.append(task) }
        }
    }

    func cancelAll() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
