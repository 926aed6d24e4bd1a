import Foundation
import KieWatchAgent
import KieWatchCore
import KieWatchHTTP
import KieWatchRuntime
import KieWatchStore
import KieWatchTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping the agent: a failed start leaves nothing open, a stop is bounded by
/// its grace whatever the background work is waiting for, and a second signal cuts it short.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct AgentLifecycleTests {
    // MARK: Background work at the stop

    /// The credit check, a recovery poll and a relay delivery are all waiting on calls that
    /// honour cancellation: the stop cancels them, they end, and none is recorded as a failure
    /// of Kie or of the app (the relay stays pending, the task is polled after the restart).
    @Test func theStopCancelsBackgroundCallsAndRecordsNoneOfThem() async throws {
        let database = try TemporaryDatabase()
        try await Self.seedStaleTaskAndPendingRelay(database.path)
        let calls = HangingTransport(honoursCancellation: true)
        let agent = try Agent(
            configuration: Self.configuration(database.path), logger: .silent, upstream: calls, relayTransport: calls)
        let group = ServiceGroup(
            [agent.storeService] + agent.backgroundServices(activity: { 0 }), maximumShutdownDuration: .seconds(30))
        try await group.start()
        try await waitUntil { calls.inFlight == 3 }  // credit check, recovery poll, relay delivery

        let report = await group.shutdown()
        #expect(report.endedInTime, "\(report.abandoned)")
        #expect(calls.inFlight == 0)
        let reader = try StoreReader(path: database.path)
        #expect(try reader.count(of: "api_calls") == 0)
        #expect(try reader.count(of: "recoveries") == 0)
        #expect(try reader.count(of: "relay_attempts") == 0)
        let relay = try #require(try reader.relay(id: 1))
        #expect(relay.state == .pending && relay.attempts == 0)
        #expect(try reader.task(id: "stale-1")?.recoveryAttempts == 0)
    }

    /// Calls that ignore cancellation (a URLSession stuck in a TLS read, a DNS lookup) cannot
    /// hold the stop: at the bound they are abandoned and the store is closed anyway.
    @Test func backgroundWorkThatIgnoresCancellationIsAbandonedAtTheBound() async throws {
        let database = try TemporaryDatabase()
        try await Self.seedStaleTaskAndPendingRelay(database.path)
        let calls = HangingTransport(honoursCancellation: false)
        defer { calls.releaseAll() }
        let agent = try Agent(
            configuration: Self.configuration(database.path), logger: .silent, upstream: calls, relayTransport: calls)
        let group = ServiceGroup(
            [agent.storeService] + agent.backgroundServices(activity: { 0 }), maximumShutdownDuration: .seconds(30))
        try await group.start()
        try await waitUntil { calls.inFlight == 3 }

        let report = await group.shutdown(within: .milliseconds(200))
        #expect(report.cut == .bound)
        #expect(Set(report.abandoned).isSuperset(of: ["credits", "recovery", "relay"]), "\(report.abandoned)")
        #expect(!report.abandoned.contains("store"))
        #expect(calls.inFlight == 3, "still hanging: abandoned, not awaited")
        let closed = await #expect(throws: StoreError.self) { try await agent.flush() }
        #expect(closed?.kind == .closed, "the store is flushed and closed")
    }

    // MARK: A start that fails midway

    /// The admin socket cannot be created after the store, the HTTP listener and its event
    /// loop were started: all of them are closed before `start` throws.
    @Test func aStartThatFailsAtTheAdminSocketClosesTheListenerAndTheStore() async throws {
        let database = try TemporaryDatabase()
        var configuration = Self.configuration(database.path)
        configuration.apiKey = nil
        configuration.listen = HostPort(host: "127.0.0.1", port: try await freePort())
        configuration.adminSocketPath = database.directory + "/no-such-directory/kw.sock"
        await #expect(throws: ServiceError.self) {
            _ = try await AgentService.start(configuration: configuration, logger: .silent)
        }
        for _ in 0..<200 { if openDescriptors(of: database.path) == 0 { break }; try await Task.sleep(for: .milliseconds(10)) }
        #expect(openDescriptors(of: database.path) == 0, "the store's connections are closed")
        let again = HTTPServer(handler: ClosureHandler { _ in .text("again") })
        await #expect(throws: Never.self) { try await again.start(host: "127.0.0.1", port: configuration.listen.port) }
        await again.shutdown(gracePeriod: .zero)

        // And the same database then starts normally.
        configuration.adminSocketPath = database.directory + "/kw.sock"
        let service = try await AgentService.start(configuration: configuration, logger: .silent)
        #expect(service.port == configuration.listen.port)
        await service.stop(gracePeriod: .seconds(1))
    }

    /// The store opens (writer thread started) but restoring the counters fails: the writer is
    /// closed before `Agent.open` (and so `AgentService.start`) throws; the synchronous `init`
    /// closes it too, in the background.
    @Test func aStoreThatFailsAfterItsWriterStartedIsClosed() async throws {
        let database = try TemporaryDatabase()
        try await Self.seedStaleTaskAndPendingRelay(database.path)
        // Counters are restored from `totals`: without it, the restore fails after the writer started.
        try Database(path: database.path, mode: .readWrite).execute("DROP TABLE totals")
        var configuration = Self.configuration(database.path)
        configuration.adminSocketPath = database.directory + "/kw.sock"
        await #expect(throws: ServiceError.self) {
            _ = try await AgentService.start(configuration: configuration, logger: .silent)
        }
        #expect(openDescriptors(of: database.path) == 0)

        #expect(throws: StoreError.self) { _ = try Agent(configuration: configuration, logger: .silent) }
        try await waitUntil { openDescriptors(of: database.path) == 0 }
    }

    // MARK: The stop of the bound agent

    /// A proxied call hangs on an upstream that never answers (its timeout is 10 minutes): the
    /// graceful stop still ends at the grace, the client's connection closed and the store too.
    @Test func aHangingProxiedCallCannotHoldTheStop() async throws {
        let (service, upstream, client, database) = try await Self.serviceWithAProxiedCallHanging()
        defer { upstream.stop() }
        await service.stop(gracePeriod: .milliseconds(300))
        #expect(try await client.waitForClose())
        let closed = await #expect(throws: StoreError.self) { try await service.agent.flush() }
        #expect(closed?.kind == .closed, "the store is flushed and closed")
        withExtendedLifetime(database) {}
    }

    /// The second signal during a long grace: the store is flushed and closed and the stop
    /// returns at once, with the interrupt's value.
    @Test func aSecondSignalCutsTheStopShort() async throws {
        let (service, upstream, _, database) = try await Self.serviceWithAProxiedCallHanging()
        defer { upstream.stop() }
        let (signals, signal) = AsyncStream<Int32>.makeStream()
        let stopping = Task {
            await service.stop(gracePeriod: .seconds(600), interruptedBy: {
                var iterator = signals.makeAsyncIterator()
                return await iterator.next() ?? 0
            })
        }
        signal.yield(SIGTERM)
        #expect(await stopping.value == SIGTERM)
        let closed = await #expect(throws: StoreError.self) { try await service.agent.flush() }
        #expect(closed?.kind == .closed)
        withExtendedLifetime(database) {}
    }

    // MARK: Helpers

    static func configuration(_ path: String) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        configuration.databasePath = path
        configuration.upstream = "http://127.0.0.1:9"
        configuration.apiKey = "agent-key"
        configuration.deadlines.configuredDefault = 60_000
        return configuration
    }

    /// A task past its deadline (recovery polls it) and a relay due now.
    static func seedStaleTaskAndPendingRelay(_ path: String) async throws {
        let writer = try StoreWriter(path: path)
        let now = SystemClock().now()
        try await writer.write { ctx in
            try ctx.save(TaskRecord(
                taskID: "stale-1", family: .market, model: "kling-2.6/text-to-video", state: .generating,
                createdAt: now - 3_600_000, callbackURL: "http://127.0.0.1:9/app", expectsCallback: true,
                deadlineAt: now - 1_800_000))
            _ = try ctx.enqueueRelay(RelayOutboxItem(
                taskID: "done-1", url: "http://127.0.0.1:9/app", body: Array("{}".utf8), createdAt: now - 1_000))
        }
        await writer.close()
    }

    static func serviceWithAProxiedCallHanging() async throws
        -> (AgentService, RawTCPServer, RawHTTPClient, TemporaryDatabase)
    {
        let database = try TemporaryDatabase()
        let upstream = try RawTCPServer { connection in connection.stall() }
        var configuration = AgentConfiguration()
        configuration.databasePath = database.path
        configuration.listen = HostPort(host: "127.0.0.1", port: 0)
        configuration.adminSocketPath = database.directory + "/kw.sock"
        configuration.upstream = "http://127.0.0.1:\(upstream.port)"
        configuration.upstreamTimeoutMillis = 600_000
        let service = try await AgentService.start(configuration: configuration, logger: .silent)
        let client = try await RawHTTPClient(port: service.port)
        let body = #"{"model":"kling-2.6/text-to-video","input":{"prompt":"a red panda"}}"#
        try await client.send(
            "POST /api/v1/jobs/createTask HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer app-key\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        try await waitUntil { upstream.acceptedConnections == 1 }
        return (service, upstream, client, database)
    }
}

/// An upstream (or app) whose calls never answer; with `honoursCancellation` they end with
/// `cancelled` when the calling task is cancelled, without it only at `releaseAll()`.
final class HangingTransport: HTTPTransport, Sendable {
    private let honoursCancellation: Bool
    private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let count = Atomic<Int>(0)

    init(honoursCancellation: Bool) {
        self.honoursCancellation = honoursCancellation
    }

    /// Calls under way.
    var inFlight: Int { count.load(ordering: .relaxed) }

    func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        count.add(1, ordering: .relaxed)
        defer { count.subtract(1, ordering: .relaxed) }
        if honoursCancellation {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
            throw .cancelled
        }
        await withCheckedContinuation { continuation in waiting.withLock { $0.append(continuation) } }
        throw .connectionReset
    }

    func releaseAll() {
        for continuation in waiting.withLock({ list in defer { list.removeAll() }; return list }) { continuation.resume() }
    }
}

/// Descriptors of this process open on the database file or its -wal/-shm.
func openDescriptors(of path: String) -> Int {
    let directory = "/proc/self/fd"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return entries.filter { entry in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(entry)") else {
            return false
        }
        return target == path || target == path + "-wal" || target == path + "-shm"
    }.count
}

/// A loopback port that was free a moment ago.
func freePort() async throws -> Int {
    let server = HTTPServer(handler: ClosureHandler { _ in .text("") })
    let port = try await server.start(host: "127.0.0.1", port: 0)
    await server.shutdown(gracePeriod: .zero)
    return port
}

/// Polls `condition` every 5 ms for up to 10 s.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("condition not met within 10 s")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
