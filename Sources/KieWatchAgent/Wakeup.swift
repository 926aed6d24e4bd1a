import Synchronization

/// A level-triggered wake-up for one waiting loop (the relay worker), that cannot lose a
/// signal: every `signal()` either ends the wait in progress (which then returns `.signalled`)
/// or stays pending until the next `wait` consumes it. Several signals before a wait coalesce
/// into one wake-up; none is ever cleared without a wait returning `.signalled` for it.
///
/// All of it is decided under one lock: the waiter is registered there, and a signal, the
/// timeout and task cancellation each end the wait only by taking the registered waiter out
/// under that lock, so whichever comes first wins and the others find no waiter (a signal
/// then stays pending). The timeout or a cancellation that comes before the waiter is
/// registered is remembered for that wait (`earlyEnd`), so it cannot be missed either.
final class Wakeup: Sendable {
    enum Outcome: Sendable, Equatable {
        case signalled, timedOut, cancelled
    }

    private struct State {
        /// A signal that no wait has consumed yet.
        var pending = false
        /// The number of the wait in progress (0: none); a late timer of an earlier wait
        /// carries an older number and is ignored.
        var current: UInt64 = 0
        var lastNumber: UInt64 = 0
        /// The wait in progress, once it has registered.
        var waiter: CheckedContinuation<Outcome, Never>?
        /// Its timeout or cancellation, when that came before it registered.
        var earlyEnd: Outcome?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Outcome, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            s.current = 0
            return waiter
        }
        waiter?.resume(returning: .signalled)
    }

    /// Returns after a signal (one already pending: at once), after `timeout`, or when the
    /// calling task is cancelled, whichever comes first. One waiter at a time.
    @discardableResult
    func wait(timeout: Duration) async -> Outcome {
        let number = state.withLock { s -> UInt64? in
            precondition(s.current == 0, "Wakeup has one waiter at a time")
            if s.pending {
                s.pending = false
                return nil
            }
            s.lastNumber &+= 1
            s.current = s.lastNumber
            s.earlyEnd = nil
            return s.current
        }
        guard let number else { return .signalled }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }  // cancelled: the wait is over
            self.end(number, .timedOut)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let now = state.withLock { s -> Outcome? in
                    if s.pending {
                        s.pending = false
                        s.current = 0
                        return .signalled
                    }
                    if let early = s.earlyEnd {
                        s.earlyEnd = nil
                        s.current = 0
                        return early
                    }
                    s.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            end(number, .cancelled)
        }
    }

    /// Ends wait `number` (timeout or cancellation) if it is still the one in progress.
    private func end(_ number: UInt64, _ outcome: Outcome) {
        let waiter = state.withLock { s -> CheckedContinuation<Outcome, Never>? in
            guard s.current == number else { return nil }  // already ended
            guard let waiter = s.waiter else {
                if s.earlyEnd == nil { s.earlyEnd = outcome }  // not registered yet
                return nil
            }
            s.waiter = nil
            s.current = 0
            return waiter
        }
        waiter?.resume(returning: outcome)
    }
}
