import Foundation
import KieWatchCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something an `EventLoop` notifies when its descriptor is ready. Called on the loop thread only.
package protocol EventHandler: AnyObject {
    /// `events` is the epoll mask (`EPOLLIN`, `EPOLLOUT`, `EPOLLRDHUP`, `EPOLLHUP`, `EPOLLERR`).
    func handleEvent(_ events: UInt32)
}

/// One thread running `epoll_wait`, woken by an `eventfd` when other threads hand it work.
///
/// Everything registered with a loop (sockets, their state machines) is touched on the loop
/// thread only, so none of it needs locks. Other threads talk to it through `execute`.
/// A periodic tick (default 100 ms) drives coarse timers: deadlines are swept, not scheduled
/// one by one, which costs nothing per request and is precise enough for 100 ms–minutes limits.
///
/// `@unchecked Sendable`: the fields touched from any thread are immutable or behind `jobs`
/// (a `Mutex`) and `loopThread` (an `Atomic`); all the `var`s below `// Loop thread only` are
/// read and written on the loop thread alone, which `inLoop` checks where it matters.
package final class EventLoop: @unchecked Sendable {
    package let name: String
    private let epoll: Epoll
    private let wakeup: WakeupEvent
    private let tickNanos: UInt64
    private let loopThread = Atomic<UInt>(0)

    private struct Jobs {
        var queue: [@Sendable () -> Void] = []
        /// True while a wake-up is written but not yet consumed: later `execute`s skip the syscall.
        var wakePending = false
        var stopRequested = false
        var finished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let jobs = Mutex(Jobs())

    // Loop thread only.
    private var handlers: [UInt64: any EventHandler] = [:]
    private var nextID: UInt64 = 1
    private var tickHandlers: [() -> Void] = []
    private static let wakeID: UInt64 = 0

    package init(name: String, tick: Duration = .milliseconds(100)) throws(HTTPServerError) {
        self.name = name
        let ticks = tick.components
        self.tickNanos = max(1_000_000, UInt64(ticks.seconds) * 1_000_000_000 + UInt64(ticks.attoseconds / 1_000_000_000))
        epoll = try Epoll()
        wakeup = try WakeupEvent()
        try epoll.add(wakeup.descriptor, events: Epoll.input, data: Self.wakeID)
    }

    /// Starts the loop's thread. The thread keeps the loop alive until `stop()`.
    package func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Whether the caller is on this loop's thread.
    package var inLoop: Bool { loopThread.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// Runs `job` on the loop thread, soon. Safe from any thread; jobs run in submission order.
    /// Jobs submitted after `stop()` are dropped (and released), never run.
    package func execute(_ job: @escaping @Sendable () -> Void) {
        let mustWake = jobs.withLock { jobs -> Bool in
            if jobs.finished { return false }  // the loop is gone; dropping releases what the job holds
            jobs.queue.append(job)
            defer { jobs.wakePending = true }
            return !jobs.wakePending
        }
        if mustWake { wake() }
    }

    private func wake() { wakeup.signal() }

    /// Adds `descriptor` to the epoll set. Returns the registration id events are dispatched by
    /// (unique for the loop's lifetime, so a late event for a closed and reused fd never reaches
    /// the new owner). Loop thread only.
    package func register(_ descriptor: Int32, events: UInt32, handler: any EventHandler) throws(HTTPServerError)
        -> UInt64
    {
        let id = nextID
        nextID += 1
        try epoll.add(descriptor, events: events, data: id)
        handlers[id] = handler
        return id
    }

    /// Changes the interest set of a registered descriptor. Loop thread only.
    package func modify(_ descriptor: Int32, id: UInt64, events: UInt32) throws(HTTPServerError) {
        try epoll.modify(descriptor, events: events, data: id)
    }

    /// Forgets a registration. Call before closing the descriptor. Loop thread only.
    package func deregister(_ descriptor: Int32, id: UInt64) {
        if descriptor >= 0 { epoll.remove(descriptor) }
        handlers[id] = nil
    }

    /// Calls `body` on every tick (see `tick` in `init`). Loop thread only (or before `start`).
    package func onTick(_ body: @escaping () -> Void) {
        tickHandlers.append(body)
    }

    /// Asks the loop to exit after its current iteration and waits until its thread has left
    /// the loop. Registered descriptors are not closed here: their owners do that on a job
    /// before calling `stop()`.
    package func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = jobs.withLock { jobs -> Bool in
                if jobs.finished { return true }
                jobs.stopRequested = true
                jobs.finishWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() } else { wake() }
        }
    }

    private func run() {
        loopThread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        let events = Epoll.Events(capacity: 256)
        var nextTick = monotonicNanos() + tickNanos

        while true {
            let now = monotonicNanos()
            let timeout = nextTick > now ? Int32(min((nextTick - now) / 1_000_000 + 1, 1000)) : 0
            let count = events.wait(on: epoll, timeoutMillis: timeout)
            for index in 0..<count {
                let event = events[index]
                if event.data == Self.wakeID {
                    wakeup.drain()
                } else if let handler = handlers[event.data] {
                    handler.handleEvent(event.events)
                }
            }
            if runJobs() { break }
            let after = monotonicNanos()
            if after >= nextTick {
                nextTick = after + tickNanos
                for body in tickHandlers { body() }
            }
        }

        handlers.removeAll()
        tickHandlers.removeAll()
        let waiters = jobs.withLock { jobs -> [CheckedContinuation<Void, Never>] in
            jobs.finished = true
            jobs.queue.removeAll()
            defer { jobs.finishWaiters.removeAll() }
            return jobs.finishWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs queued jobs; returns true when the loop should exit.
    private func runJobs() -> Bool {
        let (batch, stop) = jobs.withLock { jobs -> ([@Sendable () -> Void], Bool) in
            jobs.wakePending = false
            defer { jobs.queue.removeAll(keepingCapacity: true) }
            return (jobs.queue, jobs.stopRequested)
        }
        for job in batch { job() }
        return stop
    }
}

/// A value that belongs to one event loop, carried through `Sendable` closures back to it
/// (the NIO `NIOLoopBound` idea).
///
/// `@unchecked Sendable`: the wrapped value is only reachable through `value`, which traps
/// unless called on the owning loop's thread, so it is never touched concurrently.
package struct LoopBound<Value>: @unchecked Sendable {
    private let wrapped: Value
    package let loop: EventLoop

    package init(_ value: Value, loop: EventLoop) {
        self.wrapped = value
        self.loop = loop
    }

    package var value: Value {
        precondition(loop.inLoop, "LoopBound value used off its event loop \(loop.name)")
        return wrapped
    }
}
