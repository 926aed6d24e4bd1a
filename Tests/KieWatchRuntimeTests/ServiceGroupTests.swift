import Dispatch
import Foundation
import KieWatchRuntime
import Synchronization
import Testing

/// The runner: start order, reverse stop order, a failed start, the bound, the second signal.
@Suite(.timeLimit(.minutes(1)))
struct ServiceGroupTests {
    @Test func startsInOrderEachAfterTheOneBeforeStartedAndStopsInReverse() async throws {
        let log = EventLog()
        let gate = Gate()
        let group = ServiceGroup(
            [TestService("a", log, startGate: gate), TestService("b", log), TestService("c", log)],
            maximumShutdownDuration: .seconds(30))
        let starting = Task { try await group.start() }
        try await log.waitFor("a.run")
        for _ in 0..<100 { await Task.yield() }  // time for b to run, were it started early
        #expect(group.state == .starting)
        #expect(log.events == ["a.run"], "b waits until a has started")
        gate.open()
        try await starting.value
        #expect(group.state == .running)
        #expect(log.events == ["a.run", "a.started", "b.run", "b.started", "c.run", "c.started"])
        #expect(log.startedBefore["b"] == ["a"] && log.startedBefore["c"] == ["a", "b"])

        let report = await group.shutdown()
        #expect(group.state == .shutdown)
        #expect(report.endedInTime && report.abandoned.isEmpty && report.failures.isEmpty)
        #expect(log.events.filter { $0.hasSuffix(".stopped") } == ["c.stopped", "b.stopped", "a.stopped"])
    }

    @Test func eachServiceIsAskedToStopOnlyOnceTheOneAfterItHasStopped() async throws {
        let log = EventLog()
        let release = Gate()
        let group = ServiceGroup(
            [TestService("a", log), TestService("b", log, stopGate: release)], maximumShutdownDuration: .seconds(30))
        try await group.start()
        let stopping = Task { await group.shutdown() }
        try await log.waitFor("b.stopping")
        for _ in 0..<100 { await Task.yield() }
        #expect(!log.events.contains("a.stopping"), "a stops after b has returned")
        release.open()
        let report = await stopping.value
        #expect(report.endedInTime)
        #expect(log.events.suffix(4) == ["b.stopping", "b.stopped", "a.stopping", "a.stopped"])
    }

    @Test func aServiceThatFailsToStartStopsTheStartedOnesInReverseThenTheStartThrows() async throws {
        let log = EventLog()
        let group = ServiceGroup(
            [TestService("a", log), TestService("b", log), TestService("c", log, failsToStart: true), TestService("d", log)],
            maximumShutdownDuration: .seconds(30))
        let error = await #expect(throws: ServiceGroupError.self) { try await group.start() }
        #expect(error?.code == .startFailed && error?.service == "c")
        #expect(error?.underlying is TestFailure)
        #expect(log.events == ["a.run", "a.started", "b.run", "b.started", "c.run", "b.stopping", "b.stopped",
                               "a.stopping", "a.stopped"], "stopped before start threw; d never ran")
        #expect(group.state == .shutdown)
        await #expect(throws: ServiceGroupError.self) { try await group.start() }
    }

    /// A stop asked while a service is still starting (stuck in it): no further service runs,
    /// the one starting is asked to stop first, holds the stop until the bound, then what is
    /// left is cut (the one started before it, cancelled, ends), and `start` throws.
    @Test func aStopAskedDuringTheStartStopsWhatStartedAndNeverStartsTheRest() async throws {
        let log = EventLog()
        let stuck = Gate()
        defer { stuck.open() }
        let group = ServiceGroup(
            [TestService("a", log), TestService("b", log, startGate: stuck), TestService("c", log)],
            maximumShutdownDuration: .seconds(30))
        let starting = Task { try await group.start() }
        try await log.waitFor("b.run")
        group.triggerGracefulShutdown(within: .milliseconds(100))
        let error = await #expect(throws: ServiceGroupError.self) { try await starting.value }
        #expect(error?.code == .stoppedWhileStarting)
        let report = await group.waitUntilStopped()
        #expect(report.cut == .bound && report.abandoned.first == "b")
        try await log.waitFor("a.stopped")
        #expect(log.events == ["a.run", "a.started", "b.run", "a.cancelled", "a.stopping", "a.stopped"])
    }

    /// A service that ignores both its stop request and cancellation: at the bound the group
    /// cancels what still runs, waits for the store-like service that must finish, leaves the
    /// stuck one behind and returns.
    @Test func aServiceThatIgnoresCancellationIsAbandonedAtTheBound() async throws {
        let log = EventLog()
        let stuck = Gate()
        defer { stuck.open() }
        let group = ServiceGroup(
            [TestService("store", log, finishesWhenCut: true), TestService("stuck", log, stopGate: stuck),
             TestService("quick", log)],
            maximumShutdownDuration: .seconds(30))
        try await group.start()
        let report = await group.shutdown(within: .milliseconds(200))
        #expect(report.cut == .bound)
        #expect(report.abandoned == ["stuck"])
        #expect(log.events.contains("stuck.cancelled"), "cancelled before it was left behind")
        #expect(!log.events.contains("stuck.stopped"))
        #expect(log.events.contains("store.stopped"), "the service that must finish was awaited")
        #expect(log.events.firstIndex(of: "quick.stopped")! < log.events.firstIndex(of: "stuck.stopping")!)
        #expect(group.state == .shutdown)
    }

    /// The second signal during a long graceful stop: everything still running is cancelled,
    /// the store-like service finishes, the group returns with the signal.
    @Test func aSecondSignalCutsTheStopShort() async throws {
        let log = EventLog()
        let (signals, signal) = AsyncStream<Int32>.makeStream()
        let group = ServiceGroup(
            [TestService("store", log, finishesWhenCut: true), TestService("draining", log, drainsUntilCancelled: true)],
            maximumShutdownDuration: .seconds(600))
        try await group.start()
        let stopping = Task {
            await group.shutdown(interruptedBy: {
                var iterator = signals.makeAsyncIterator()
                return await iterator.next() ?? 0
            })
        }
        try await log.waitFor("draining.stopping")
        signal.yield(15)
        let (report, interrupt) = await stopping.value
        #expect(interrupt == 15)
        #expect(report.cut == .request)
        #expect(log.events.contains("store.stopped"))
        try await log.waitFor("draining.cancelled")
        #expect(group.cut() == false, "nothing left to cut")
    }

    @Test func aStopThatEndsBeforeTheInterruptReturnsNoInterrupt() async throws {
        let log = EventLog()
        let group = ServiceGroup([TestService("a", log)], maximumShutdownDuration: .seconds(30))
        try await group.start()
        let never = Gate()
        defer { never.open() }
        let (report, interrupt) = await group.shutdown(interruptedBy: { () async -> Int32 in
            await never.wait()
            return 2
        })
        #expect(interrupt == nil)
        #expect(report.endedInTime)
    }

    /// A service that ends by itself while the group runs stops the others, in reverse order.
    @Test func aServiceThatEndsByItselfStopsTheGroup() async throws {
        let log = EventLog()
        let end = Gate()
        let group = ServiceGroup(
            [TestService("a", log), TestService("b", log, endsWhen: end), TestService("c", log)],
            maximumShutdownDuration: .seconds(30))
        try await group.start()
        end.open()
        let report = await group.waitUntilStopped()
        #expect(report.endedEarly == "b")
        #expect(log.events.filter { $0.hasSuffix(".stopped") } == ["b.stopped", "c.stopped", "a.stopped"])
    }

    @Test func aGroupStoppedBeforeItStartedNeverStarts() async throws {
        let log = EventLog()
        let group = ServiceGroup([TestService("a", log)], maximumShutdownDuration: .seconds(30))
        let report = await group.shutdown()
        #expect(report.endedInTime)
        await #expect(throws: ServiceGroupError.self) { try await group.start() }
        #expect(log.events.isEmpty)
    }

    /// More blocking calls at once (one per executor, as each owner has its own) than the
    /// cooperative pool has threads: were they run on it, the task that releases them could
    /// never run.
    @Test func blockingCallsLeaveTheCooperativePoolFree() async throws {
        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        let entered = Counter()
        let release = DispatchSemaphore(value: 0)
        async let all: Void = withTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    await BlockingExecutor(label: "test.blocking").run {
                        entered.add()
                        release.wait()
                    }
                }
            }
        }
        while entered.value < count { try await Task.sleep(for: .milliseconds(5)) }
        for _ in 0..<count { release.signal() }
        await all
    }

    @Test func aBlockingCallPassesItsResultAndError() async throws {
        let executor = BlockingExecutor(label: "test.blocking")
        #expect(await executor.run { 6 * 7 } == 42)
        await #expect(throws: TestFailure.self) { try await executor.run { () throws(TestFailure) -> Int in throw TestFailure() } }
    }
}

private final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add() { count.add(1, ordering: .relaxed) }
}

/// A service that logs what happens to it: `<name>.run` when it runs, `.started`, `.stopping`
/// when asked to stop (or cut), `.cancelled` when its task is cancelled, `.stopped` when it
/// returns. Options hold it at each step; a gate ignores cancellation.
private struct TestService: Service {
    let name: String
    let log: EventLog
    var startGate: Gate?
    var stopGate: Gate?
    var failsToStart = false
    var finishesWhenCut = false
    var drainsUntilCancelled = false
    var endsWhen: Gate?

    init(
        _ name: String, _ log: EventLog, startGate: Gate? = nil, stopGate: Gate? = nil, failsToStart: Bool = false,
        finishesWhenCut: Bool = false, drainsUntilCancelled: Bool = false,
        endsWhen: Gate? = nil
    ) {
        self.name = name
        self.log = log
        self.startGate = startGate
        self.stopGate = stopGate
        self.failsToStart = failsToStart
        self.finishesWhenCut = finishesWhenCut
        self.drainsUntilCancelled = drainsUntilCancelled
        self.endsWhen = endsWhen
    }

    func run(_ context: ServiceContext) async throws {
        log.enter(name)
        if failsToStart { throw TestFailure() }
        await startGate?.wait()
        log.append("\(name).started")
        context.started()
        await withTaskCancellationHandler {
            if let endsWhen {
                await endsWhen.wait()
            } else {
                _ = await context.gracefulShutdown()
                log.append("\(name).stopping")
            }
            if let stopGate { await stopGate.wait() }
            if drainsUntilCancelled {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
            }
        } onCancel: {
            log.append("\(name).cancelled")
        }
        log.append("\(name).stopped")
    }
}

/// Ordered events, and which services had started when each one began to run.
private final class EventLog: Sendable {
    private let state = Mutex<(events: [String], startedBefore: [String: [String]])>(([], [:]))

    var events: [String] { state.withLock { $0.events } }
    var startedBefore: [String: [String]] { state.withLock { $0.startedBefore } }

    func append(_ event: String) { state.withLock { $0.events.append(event) } }

    func enter(_ name: String) {
        state.withLock { s in
            s.startedBefore[name] = s.events.filter { $0.hasSuffix(".started") }.map { String($0.dropLast(8)) }
            s.events.append("\(name).run")
        }
    }

    /// Polls every 5 ms for up to 10 s.
    func waitFor(_ event: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !events.contains(event) {
            if ContinuousClock.now > deadline {
                Issue.record("\(event) did not happen within 10 s: \(events)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Holds its waiters until `open()`, and ignores their cancellation.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { s -> Bool in
                if !s.open { s.waiters.append(continuation) }
                return s.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

private struct TestFailure: Error {}
