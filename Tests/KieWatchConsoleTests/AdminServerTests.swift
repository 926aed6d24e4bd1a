#if canImport(Glibc)
import Glibc
#endif
import KieWatchAgent
import KieWatchConsole
import KieWatchCore
import KieWatchStore
import Testing

/// The admin socket end to end: a real `AdminServer` on a real Unix socket, real clients.
struct AdminServerTests {
    /// A server on the fixture store at `<dir>/a.sock`; stopped and cleaned up by the caller.
    static func start(
        _ fixture: ConsoleFixture, configure: (inout AdminServer.Configuration) -> Void = { _ in }
    ) throws -> (AdminServer, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        var configuration = AdminServer.Configuration()
        configure(&configuration)
        let server = AdminServer(path: directory.file("a.sock"), databasePath: fixture.path, clock: TestClock(now),
                                 actions: FakeAgentActions(), logger: .silent, configuration: configuration)
        try server.start()
        return (server, directory)
    }

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    @Test func socketIsPrivateAndServesConcurrentClients() async throws {
        let fixture = try await ConsoleFixture.make()
        let (server, directory) = try Self.start(fixture)
        defer { server.stop(); directory.remove() }
        #expect(Self.mode(server.path) == 0o600)
        let path = server.path
        async let a = Task.detached { try AdminClient(socketPath: path, options: jsonOptions).execute("tasks") }.value
        async let b = Task.detached { try AdminClient(socketPath: path).execute("stale") }.value
        let (tasks, stale) = try await (a, b)
        #expect(tasks.status == .ok)
        #expect(try JSONValue.parse(tasks.text)["tasks"]?.arrayValue?.count == 5)
        #expect(stale.status == .ok && stale.lines.first?.hasPrefix("TASK  MODEL") == true)
        // `sync` reaches the agent's actions from a session thread.
        let sync = try AdminClient(socketPath: path).execute("sync v1")
        #expect(sync.status == .ok && sync.text.contains("recovered"))
        server.stop()
        #expect(Self.mode(server.path) == nil, "stop() removes the socket file")
    }

    @Test func directivesApplyToTheSession() async throws {
        let fixture = try await ConsoleFixture.make()
        let (server, directory) = try Self.start(fixture)
        defer { server.stop(); directory.remove() }
        let fd = try connectRaw(server.path)
        defer { close(fd) }
        writeBytes(fd, Array(".format json\n.width 5\nstale\n.format table\n.bogus on\ncredits 2h\nquit\n".utf8))
        var parser = AdminResponseParser()
        var answers: [(AdminProtocol.Status, [String])] = []
        var lines: [String] = []
        for event in try parser.feed(readUntilClosed(fd)) {
            switch event {
            case .line(let line): lines.append(line)
            case .end(let status):
                answers.append((status, lines))
                lines = []
            }
        }
        #expect(answers.count == 7, "every request answered, then `quit` closed the connection")
        #expect(answers[0] == (.ok, []))
        #expect(answers[1] == (.error, ["'.width' takes a number of columns from 20 to 1000, or none"]))
        #expect(answers[2].0 == .ok && answers[2].1.count == 1 && answers[2].1[0].hasPrefix(#"{"command":"stale","count":1,"#))
        #expect(answers[3] == (.ok, []))
        #expect(answers[4] == (.error, ["unknown directive '.bogus' (known: .format, .color, .width)"]))
        #expect(answers[5].0 == .ok && answers[5].1.first == "remaining: 1234.5 (checked 1h ago)")
        #expect(answers[6] == (.ok, []))
    }

    @Test func aClientThatLeavesMidAnswerDoesNotStopTheServer() async throws {
        let fixture = try await ConsoleFixture.make()
        let (server, directory) = try Self.start(fixture)
        defer { server.stop(); directory.remove() }
        // ~1,000 rows of 1 KiB: far more than the socket buffers hold, so the server is mid-send.
        let fd = try connectRaw(server.path)
        writeBytes(fd, Array("sql WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT i, printf('%.1000c', 'x') FROM n\n".utf8))
        var first = [UInt8](repeating: 0, count: 100)
        _ = recv(fd, &first, first.count, 0)
        close(fd)
        let next = try AdminClient(socketPath: server.path).execute("status")
        #expect(next.status == .ok && next.text.contains("in flight      2 tasks"))
        for _ in 0..<500 where server.clientCount > 0 { usleep(10_000) }
        #expect(server.clientCount == 0)
    }

    @Test func tooManyClientsGetAnErrorLine() async throws {
        let fixture = try await ConsoleFixture.make()
        let (server, directory) = try Self.start(fixture) { $0.maxClients = 1 }
        defer { server.stop(); directory.remove() }
        let held = try connectRaw(server.path)
        defer { close(held) }
        for _ in 0..<500 where server.clientCount < 1 { usleep(10_000) }
        let refused = try AdminClient(socketPath: server.path).execute("status")
        #expect(refused.status == .error)
        #expect(refused.text == "too many console sessions (1); close one and try again")
    }

    @Test func staleSocketIsReplacedLiveOneAndFilesAreRefused() async throws {
        let fixture = try await ConsoleFixture.make()
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sock")
        // A socket file nobody listens on: what a killed agent leaves behind.
        let dead = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(dead, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(dead)
        let server = AdminServer(path: path, databasePath: fixture.path, clock: TestClock(now), actions: FakeAgentActions(),
                                 logger: .silent)
        try server.start()
        defer { server.stop() }
        #expect(try AdminClient(socketPath: path).execute("stale").status == .ok)

        let second = AdminServer(path: path, databasePath: fixture.path, clock: TestClock(now), actions: FakeAgentActions(),
                                 logger: .silent)
        #expect(throws: AdminServerError.self) { try second.start() }
        #expect(try AdminClient(socketPath: path).execute("stale").status == .ok, "the first agent keeps its socket")

        let file = directory.file("plain")
        let created = open(file, O_CREAT | O_WRONLY, 0o600)
        close(created)
        let third = AdminServer(path: file, databasePath: fixture.path, clock: TestClock(now), actions: FakeAgentActions(),
                                logger: .silent)
        #expect(throws: AdminServerError.self) { try third.start() }
        #expect(Self.mode(file) == 0o600, "a regular file is never deleted")
    }
}

/// Connects a plain blocking Unix socket (a `socat`-like client).
func connectRaw(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw AdminServerError("connect failed", errno: errno)
    }
    return fd
}

/// Reads until the peer closes (with a 10 s guard so a bug fails instead of hanging).
func readUntilClosed(_ fd: Int32) -> [UInt8] { readAvailable(fd, waitingMillis: 10_000) }
