import KieWatchCore
import Synchronization

/// The one runner of the process's services, shaped like swift-service-lifecycle's
/// `ServiceGroup`: one list, in start order, is the whole story of how the process starts
/// and stops.
///
/// - Start: each service runs in its own task; the next one starts once the one before it
///   called `ServiceContext.started()`. A service that throws (or returns) before it started
///   fails the start: the services already started are stopped in reverse order, then
///   `start` throws.
/// - Stop (`triggerGracefulShutdown`, or a service that ends by itself while running): the
///   services are asked to stop one at a time, in reverse start order, each once the one
///   after it has returned, all within one bound (`ShutdownDeadline`).
/// - Escalation (the bound passes, or `cut()`: a second signal): every service still running
///   is cancelled; those that `finishesWhenCut` (the store: what is queued is committed) are
///   awaited, the others are left behind, so one that ignores cancellation cannot hold the
///   process past the bound.
///
/// All decisions are taken by one driver task reading one event stream (service started,
/// service ended, stop asked, cut asked, bound passed), so they need no lock; the lock only
/// guards what callers read and wait on.
package final class ServiceGroup: Sendable {
    /// The lifecycle (hummingbird's `Server`).
    package enum State: Sendable, Equatable {
        case initial, starting, running, shuttingDown, shutdown
    }

    /// How the group stopped.
    package struct Report: Sendable {
        package enum Cut: Sendable, Equatable {
            /// The bound passed with services still stopping.
            case bound
            /// `cut()` was called (a second signal).
            case request
        }

        /// What cut the stop short, if anything did.
        package var cut: Cut?
        /// Services still running when the group returned: cancelled and left behind, in
        /// stop order.
        package var abandoned: [String] = []
        /// The service whose end (on its own, while running) made the group stop.
        package var endedEarly: String?
        /// Errors services threw while running or stopping.
        package var failures: [Failure] = []

        package struct Failure: Sendable {
            package let service: String
            package let error: any Error
        }

        /// Whether every service ended by itself within the bound.
        package var endedInTime: Bool { cut == nil && abandoned.isEmpty }
    }

    private enum Event: Sendable {
        case started(Int)
        case ended(Int, (any Error)?)
        case shutdown(Duration)
        case cut
        case boundPassed
    }

    private let services: [any Service]
    package let maximumShutdownDuration: Duration
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let emit: AsyncStream<Event>.Continuation
    private let shared = Mutex(Shared())

    /// What callers read and wait on; the driver publishes into it.
    private struct Shared {
        var state = State.initial
        var cutRequested = false
        var startOutcome: Result<Void, ServiceGroupError>?
        var startWaiters: [CheckedContinuation<Void, any Error>] = []
        var report: Report?
        var stopWaiters: [CheckedContinuation<Report, Never>] = []
    }

    /// `services` in start order; `maximumShutdownDuration` bounds a stop that is not given
    /// its own bound (`triggerGracefulShutdown(within:)`).
    package init(_ services: [any Service], maximumShutdownDuration: Duration, logger: Logger = .silent) {
        self.services = services
        self.maximumShutdownDuration = max(maximumShutdownDuration, .zero)
        self.logger = logger
        (events, emit) = AsyncStream.makeStream(of: Event.self)
    }

    package var state: State { shared.withLock { $0.state } }

    // MARK: Callers

    /// Starts the services in order and returns once every one has started. Throws why the
    /// start failed, after the services already started have stopped (in reverse order,
    /// within `maximumShutdownDuration`). Call once.
    package func start() async throws(ServiceGroupError) {
        let first = shared.withLock { s -> Bool in
            guard s.state == .initial else { return false }
            s.state = .starting
            return true
        }
        guard first else { throw ServiceGroupError(.alreadyStarted) }
        Task { await self.drive() }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = shared.withLock { s -> Result<Void, ServiceGroupError>? in
                    if s.startOutcome == nil { s.startWaiters.append(continuation) }
                    return s.startOutcome
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } catch let error as ServiceGroupError {
            throw error
        } catch {
            preconditionFailure("the start ends with a ServiceGroupError or nothing: \(error)")
        }
    }

    /// Asks for the graceful stop: services stop in reverse start order, all within `bound`
    /// (default `maximumShutdownDuration`); at the bound, what still runs is cut. Returns at
    /// once (`waitUntilStopped` waits). While the group is starting, no further service
    /// starts, the one starting is asked to stop with the others, and `start` throws. Before
    /// `start`, the group never starts. Later calls change nothing.
    package func triggerGracefulShutdown(within bound: Duration? = nil) {
        let (forward, waiters) = shared.withLock { s -> (Bool, [CheckedContinuation<Report, Never>]) in
            switch s.state {
            case .initial:
                s.state = .shutdown
                s.report = Report()
                defer { s.stopWaiters.removeAll() }
                return (false, s.stopWaiters)
            case .starting, .running:
                return (true, [])
            case .shuttingDown, .shutdown:
                return (false, [])
            }
        }
        for waiter in waiters { waiter.resume(returning: Report()) }
        if forward { emit.yield(.shutdown(max(bound ?? maximumShutdownDuration, .zero))) }
    }

    /// Cuts the stop short now (a second signal): every service still running is cancelled,
    /// those that `finishesWhenCut` are awaited and the others left behind. Returns whether
    /// this call is what cut a run or stop under way (false once the group has stopped or was
    /// already cut).
    @discardableResult
    package func cut() -> Bool {
        let forward = shared.withLock { s -> Bool in
            guard s.state == .starting || s.state == .running || s.state == .shuttingDown, !s.cutRequested else {
                return false
            }
            s.cutRequested = true
            return true
        }
        if forward { emit.yield(.cut) }
        return forward
    }

    /// Returns once the group has stopped, with how it stopped.
    package func waitUntilStopped() async -> Report {
        await withCheckedContinuation { (continuation: CheckedContinuation<Report, Never>) in
            let report = shared.withLock { s -> Report? in
                if s.report == nil { s.stopWaiters.append(continuation) }
                return s.report
            }
            if let report { continuation.resume(returning: report) }
        }
    }

    /// The graceful stop, awaited.
    @discardableResult
    package func shutdown(within bound: Duration? = nil) async -> Report {
        triggerGracefulShutdown(within: bound)
        return await waitUntilStopped()
    }

    /// The graceful stop, cut short if `interrupt` returns before it is over (a second
    /// signal). Returns how the group stopped and, when the interrupt is what cut it, the
    /// interrupt's value. Nothing else may `cut()` this stop. `interrupt` is left waiting
    /// when the stop ends first (it need not honour cancellation).
    package func shutdown<T: Sendable>(
        within bound: Duration? = nil, interruptedBy interrupt: @escaping @Sendable () async -> T
    ) async -> (report: Report, interrupt: T?) {
        triggerGracefulShutdown(within: bound)
        let watcher = Task { () -> T? in
            let value = await interrupt()
            return cut() ? value : nil
        }
        let report = await waitUntilStopped()
        guard report.cut == .request else {
            watcher.cancel()
            return (report, nil)
        }
        return (report, await watcher.value)  // it cut the stop, so it is returning
    }

    // MARK: The driver

    private func drive() async {
        var events = self.events.makeAsyncIterator()
        func next() async -> Event {
            guard let event = await events.next() else { preconditionFailure("the event stream ends with the driver") }
            return event
        }
        var tasks: [Task<Void, Never>] = []
        var contexts: [ServiceContext] = []
        var running = Set<Int>()
        var report = Report()
        var stopBound: Duration?
        var startFailure: ServiceGroupError?

        func ended(_ index: Int, _ error: (any Error)?) {
            running.remove(index)
            let name = services[index].name
            if let error {
                report.failures.append(Report.Failure(service: name, error: error))
                logger.error("service.failed", ["service": name, "error": "\(error)"])
            } else {
                logger.debug("service.stopped", ["service": name])
            }
        }

        // Start, in order.
        starting: for (index, service) in services.enumerated() {
            let context = ServiceContext(name: service.name, onStarted: { [emit] in emit.yield(.started(index)) })
            contexts.append(context)
            running.insert(index)
            tasks.append(Task { [emit] in
                do {
                    try await service.run(context)
                    emit.yield(.ended(index, nil))
                } catch {
                    emit.yield(.ended(index, error))
                }
            })
            while true {
                switch await next() {
                case .started(let i) where i == index:
                    logger.debug("service.started", ["service": service.name])
                    continue starting
                case .ended(let i, let error) where i == index:
                    running.remove(i)
                    startFailure = ServiceGroupError(
                        error == nil ? .endedWhileStarting : .startFailed, service: service.name, underlying: error)
                    break starting
                case .ended(let i, let error):
                    ended(i, error)
                    startFailure = ServiceGroupError(.endedWhileStarting, service: services[i].name, underlying: error)
                    break starting
                case .shutdown(let bound):
                    // This one is asked to stop with the others (it may still be starting).
                    stopBound = bound
                    startFailure = ServiceGroupError(.stoppedWhileStarting)
                    break starting
                case .cut:
                    report.cut = .request
                    startFailure = ServiceGroupError(.stoppedWhileStarting)
                    break starting
                case .started, .boundPassed:
                    continue
                }
            }
        }

        // Run until asked to stop, or until a service ends by itself.
        if startFailure == nil {
            let waiters = shared.withLock { s -> [CheckedContinuation<Void, any Error>] in
                s.state = .running
                s.startOutcome = .success(())
                defer { s.startWaiters.removeAll() }
                return s.startWaiters
            }
            for waiter in waiters { waiter.resume() }
            running: while stopBound == nil {
                switch await next() {
                case .shutdown(let bound):
                    stopBound = bound
                case .cut:
                    report.cut = .request
                    break running
                case .ended(let i, let error):
                    ended(i, error)
                    report.endedEarly = services[i].name
                    logger.error("service.ended", ["service": services[i].name, "detail": "ended by itself: stopping the others"])
                    break running
                case .started, .boundPassed:
                    continue
                }
            }
        }

        // Stop, in reverse order, within the bound.
        shared.withLock { $0.state = .shuttingDown }
        let bound = stopBound ?? maximumShutdownDuration
        let deadline = ShutdownDeadline(after: bound)
        let timer = Task { [emit] in
            if (try? await Task.sleep(for: bound)) != nil { emit.yield(.boundPassed) }
        }
        if report.cut == nil {
            stopping: for index in contexts.indices.reversed() where running.contains(index) {
                contexts[index].requestShutdown(deadline)
                while running.contains(index) {
                    switch await next() {
                    case .ended(let i, let error):
                        ended(i, error)
                    case .boundPassed:
                        report.cut = .bound
                        break stopping
                    case .cut:
                        report.cut = .request
                        break stopping
                    case .started, .shutdown:
                        continue
                    }
                }
            }
        }

        // Escalate: cancel what still runs, wait only for what must finish.
        if report.cut != nil {
            shared.withLock { $0.cutRequested = true }
            for index in running.sorted(by: >) { tasks[index].cancel() }
            while running.contains(where: { services[$0].finishesWhenCut }) {
                if case .ended(let i, let error) = await next() { ended(i, error) }
            }
            report.abandoned = running.sorted(by: >).map { services[$0].name }
            for name in report.abandoned {
                logger.warn("service.abandoned", ["service": name, "detail": "still running when the stop was cut: left behind"])
            }
        }
        timer.cancel()
        emit.finish()

        let finished = report
        let (startWaiters, stopWaiters) = shared.withLock {
            s -> ([CheckedContinuation<Void, any Error>], [CheckedContinuation<Report, Never>]) in
            s.state = .shutdown
            s.report = finished
            if let startFailure { s.startOutcome = .failure(startFailure) }
            defer {
                s.startWaiters.removeAll()
                s.stopWaiters.removeAll()
            }
            return (s.startWaiters, s.stopWaiters)
        }
        if let startFailure {
            for waiter in startWaiters { waiter.resume(throwing: startFailure) }
        }
        for waiter in stopWaiters { waiter.resume(returning: finished) }
    }
}
