import Synchronization

/// What a `Service` gets from its group: the way to say it has started, and the request to
/// stop with the time it has for that.
package final class ServiceContext: Sendable {
    package let name: String
    private let onStarted: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        var started = false
        /// Set once the group asked the service to stop.
        var deadline: ShutdownDeadline?
        var waiters: [UInt64: CheckedContinuation<ShutdownDeadline, Never>] = [:]
        var lastWaiter: UInt64 = 0
        /// Waits whose task was cancelled before they registered.
        var cancelledEarly: Set<UInt64> = []
    }

    package init(name: String, onStarted: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.onStarted = onStarted
    }

    /// Tells the group the service is ready (bound, accepting): the next service starts now.
    /// Later calls do nothing.
    package func started() {
        let first = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        if first { onStarted() }
    }

    /// Whether the group has asked the service to stop.
    package var isShuttingDown: Bool { state.withLock { $0.deadline != nil } }

    /// Returns once the group asks the service to stop, with the deadline of that stop (the
    /// group's bound, shared by every service still to stop). Returns at once, with a deadline
    /// already over, when the calling task is cancelled: the stop was cut, stop now.
    package func gracefulShutdown() async -> ShutdownDeadline {
        let id = state.withLock { s -> UInt64 in
            s.lastWaiter &+= 1
            return s.lastWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ShutdownDeadline, Never>) in
                let now = state.withLock { s -> ShutdownDeadline? in
                    if let deadline = s.deadline { return deadline }
                    if s.cancelledEarly.remove(id) != nil { return .over }
                    s.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<ShutdownDeadline, Never>? in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                if s.deadline == nil { s.cancelledEarly.insert(id) }  // not registered yet
                return nil
            }
            waiter?.resume(returning: .over)
        }
    }

    /// Runs `body` (a loop that ends when cancelled) until the group asks the service to stop,
    /// then cancels it and waits for it to end: for services whose graceful stop is to cancel
    /// what they are doing (the relay, recovery, gauges).
    package func cancelOnGracefulShutdown(_ body: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await body() }
            group.addTask { _ = await self.gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Asks the service to stop by `deadline` (the group, once).
    func requestShutdown(_ deadline: ShutdownDeadline) {
        let waiters = state.withLock { s -> [CheckedContinuation<ShutdownDeadline, Never>] in
            guard s.deadline == nil else { return [] }
            s.deadline = deadline
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: deadline) }
    }
}
