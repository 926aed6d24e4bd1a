import KieWatchCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One `epoll` thread that tells suspended client tasks when their socket is ready or their
/// deadline has passed.
///
/// Why this shape: sockets are non-blocking and every read, write and parse runs on the calling
/// task; only *waiting* is delegated here. A task that gets `EAGAIN` parks on a continuation and
/// this thread resumes it, so no cooperative thread ever blocks in a syscall, and one thread serves
/// any number of connections (a blocking thread-per-request pool would need 64 threads for the
/// benchmark and a context switch per wake-up anyway). The latency cost is the same single hop
/// (kernel wake-up, then `resume`) any design pays; the loop itself does no I/O and no parsing,
/// so it stays cheap at tens of thousands of wake-ups a second. Registrations are
/// `EPOLLONESHOT`: a fired event needs no deregistration, and a stale one is harmless because
/// each wait carries a token that the event must match.
///
/// Deadlines are checked by this thread too, so a wait always ends: ready, timed out, cancelled.
final class HTTPClientEventLoop: Sendable {
    enum Interest {
        case read, write
    }

    enum WaitResult: Sendable {
        case ready
        case timedOut
        case cancelled
        case failed(Int32)
    }

    private struct Waiter {
        let token: UInt32
        let deadline: UInt64
        let continuation: CheckedContinuation<WaitResult, Never>
    }

    private struct State {
        var waiters: [Int32: Waiter] = [:]
        /// A lower bound of the earliest waiter deadline (may be stale-early: that only costs a scan).
        var earliestDeadline: UInt64 = .max
        /// When the loop will wake on its own; 0 while it is awake and will re-read the state.
        var sleepingUntil: UInt64 = 0
        var running = true
    }

    private let epoll: Epoll
    /// Wakes the loop early (new earlier deadline, cancellation, shutdown).
    private let wakeup: WakeupEvent
    private let state = Mutex(State())
    private let nextToken = Atomic<UInt32>(1)
    /// Called on the loop thread about once a second (the pool closes idle connections there).
    private let tick: @Sendable () -> Void

    init(tick: @escaping @Sendable () -> Void = {}) {
        do {
            epoll = try Epoll()
            wakeup = try WakeupEvent()
            try epoll.add(wakeup.descriptor, events: Epoll.input, data: Self.tag(wakeup.descriptor, token: 0))
        } catch {
            preconditionFailure("HTTP client event loop: \(error)")
        }
        self.tick = tick
        startThread()
    }

    /// Parks the calling task until `fd` is ready for `interest`, `deadline` (monotonic ns)
    /// passes, or the task is cancelled. `firstWait` says the fd is not yet in the epoll set.
    func wait(_ fd: Int32, for interest: Interest, firstWait: Bool, deadline: UInt64) async -> WaitResult {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WaitResult, Never>) in
                register(fd, token: token, interest: interest, add: firstWait, deadline: deadline, continuation)
            }
        } onCancel: {
            finish(fd, token: token, with: .cancelled)
        }
    }

    private func register(
        _ fd: Int32, token: UInt32, interest: Interest, add: Bool, deadline: UInt64,
        _ continuation: CheckedContinuation<WaitResult, Never>
    ) {
        var wake = false
        let accepted = state.withLock { s in
            guard s.running else { return false }
            s.waiters[fd] = Waiter(token: token, deadline: deadline, continuation: continuation)
            if deadline < s.earliestDeadline {
                s.earliestDeadline = deadline
                wake = s.sleepingUntil != 0 && deadline < s.sleepingUntil
            }
            return true
        }
        guard accepted else { return continuation.resume(returning: .cancelled) }
        let events = (interest == .read ? Epoll.input | Epoll.readHangUp : Epoll.output) | Epoll.oneShot
        do {
            if add {
                try epoll.add(fd, events: events, data: Self.tag(fd, token: token))
            } else {
                try epoll.modify(fd, events: events, data: Self.tag(fd, token: token))
            }
        } catch {
            finish(fd, token: token, with: .failed(error.errno ?? 0))
            return
        }
        if wake { signal() }
        // Cancelled before the handler could see this waiter: the handler already ran and found nothing.
        if Task.isCancelled { finish(fd, token: token, with: .cancelled) }
    }

    /// Resumes the waiter for `fd` if it is still the one identified by `token`.
    private func finish(_ fd: Int32, token: UInt32, with result: WaitResult) {
        let waiter = state.withLock { s -> Waiter? in
            guard let w = s.waiters[fd], w.token == token else { return nil }
            s.waiters[fd] = nil
            return w
        }
        waiter?.continuation.resume(returning: result)
    }

    /// Stops the thread; waiters still parked are resumed with `.cancelled`.
    func shutdown() {
        let wasRunning = state.withLock { s in
            defer { s.running = false }
            return s.running
        }
        if wasRunning { signal() }
    }

    private func signal() { wakeup.signal() }

    /// The epoll tag of a registration: the descriptor in the low half, the wait's token above.
    private static func tag(_ fd: Int32, token: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) | UInt64(token) << 32
    }

    // MARK: - The thread

    private func startThread() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                let loop = Unmanaged<HTTPClientEventLoop>.fromOpaque(arg!).takeRetainedValue()
                loop.run()
                return nil
            }, retained)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    private func run() {
        let capacity = 256
        let events = Epoll.Events(capacity: capacity)
        var ready: [(CheckedContinuation<WaitResult, Never>, WaitResult)] = []
        ready.reserveCapacity(capacity)
        var nextTick = monotonicNanos() + 1_000_000_000
        while true {
            let timeout: Int32 = state.withLock { s in
                guard s.running else { return -2 }
                let now = monotonicNanos()
                let wakeAt = min(s.earliestDeadline, nextTick)
                s.sleepingUntil = max(wakeAt, 1)
                return wakeAt <= now ? 0 : Int32(min((wakeAt - now + 999_999) / 1_000_000, 1000))
            }
            if timeout == -2 { break }
            let n = events.wait(on: epoll, timeoutMillis: timeout)
            let now = monotonicNanos()
            var drain = false
            state.withLock { s in
                s.sleepingUntil = 0
                for i in 0..<n {
                    let data = events[i].data
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
                    if fd == wakeup.descriptor {
                        drain = true
                        continue
                    }
                    let token = UInt32(truncatingIfNeeded: data >> 32)
                    if let w = s.waiters[fd], w.token == token {
                        s.waiters[fd] = nil
                        ready.append((w.continuation, .ready))
                    }
                }
                if now >= s.earliestDeadline {
                    var earliest = UInt64.max
                    for (fd, w) in s.waiters {
                        if w.deadline <= now {
                            s.waiters[fd] = nil
                            ready.append((w.continuation, .timedOut))
                        } else {
                            earliest = min(earliest, w.deadline)
                        }
                    }
                    s.earliestDeadline = earliest
                }
            }
            if drain { wakeup.drain() }
            for (continuation, result) in ready { continuation.resume(returning: result) }
            ready.removeAll(keepingCapacity: true)
            if now >= nextTick {
                nextTick = now + 1_000_000_000
                tick()
            }
        }
        let orphans = state.withLock { s in
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in orphans { w.continuation.resume(returning: .cancelled) }
    }
}
