import Foundation
import Synchronization
import KieWatchHTTP
import KieWatchTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starting on the various addresses, graceful shutdown.
@Suite(.serialized)
struct HTTPServerLifecycleTests {
    @Test func gracefulShutdownFinishesTheRequestInFlightThenRefusesConnections() async throws {
        let started = AsyncStream<Void>.makeStream()
        let handler = ClosureHandler { request in
            if request.path == "/slow" {
                started.continuation.yield()
                try? await Task.sleep(for: .milliseconds(300))
                return .text("finished")
            }
            return .text("quick")
        }
        let server = HTTPServer(handler: handler)
        let port = try await server.start(host: "127.0.0.1", port: 0)

        let idle = try await RawHTTPClient(port: port)
        try await idle.send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await idle.readResponse().text == "quick")

        let busy = try await RawHTTPClient(port: port)
        try await busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        var iterator = started.stream.makeAsyncIterator()
        _ = await iterator.next()  // the handler is running

        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(5)) }
        #expect(try await idle.waitForClose())  // idle keep-alive connections go first
        let response = try await busy.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "finished")
        #expect(response["Connection"] == "close")
        #expect(try await busy.waitForClose())
        await shutdown.value

        await #expect(throws: (any Error).self) { _ = try await RawHTTPClient(port: port) }
        await #expect(throws: HTTPServerError.self) { try await server.start(host: "127.0.0.1", port: 0) }
        #expect(server.connectionCount == 0)
    }

    @Test func shutdownClosesWhatIsLeftAfterTheGracePeriod() async throws {
        let handler = ClosureHandler { _ in
            try? await Task.sleep(for: .seconds(30))
            return .text("too late")
        }
        let server = HTTPServer(handler: handler)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let client = try await RawHTTPClient(port: port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await waitUntil { server.connectionCount == 1 }
        await server.shutdown(gracePeriod: .milliseconds(100))
        #expect(try await client.waitForClose())
        #expect(server.connectionCount == 0)
    }

    /// The service group cuts a stop short by cancelling it: the grace ends there, what is
    /// left is closed at once instead of being waited for until the grace's end.
    @Test(.timeLimit(.minutes(1))) func aCancelledShutdownClosesWhatIsLeftAtOnce() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.handlerTimeout = .seconds(3_600)  // the handler's own timeout does not end it
        let server = HTTPServer(configuration: configuration, handler: ClosureHandler { _ in
            try? await Task.sleep(for: .seconds(600))
            return .text("too late")
        })
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let client = try await RawHTTPClient(port: port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await waitUntil { server.connectionCount == 1 }
        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(600)) }
        shutdown.cancel()
        await shutdown.value
        #expect(try await client.waitForClose())
        #expect(server.connectionCount == 0)
    }

    /// A request cut at the end of the grace has its handler cancelled, and the handler's
    /// wind-up (the proxy records the cut call) is over before `shutdown` returns, still
    /// within the grace.
    @Test func handlersCutAtTheGraceWindUpBeforeShutdownReturns() async throws {
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let woundUp = Flag()
        let started = Flag()
        let handler = ClosureHandler { _ in
            started.value.store(true, ordering: .relaxed)
            try? await Task.sleep(for: .seconds(30))
            // Cut: what the handler still does takes a moment (off this task, so not cut too).
            await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { continuation.resume() }
            }
            woundUp.value.store(true, ordering: .relaxed)
            return .text("cut")
        }
        let server = HTTPServer(handler: handler)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let client = try await RawHTTPClient(port: port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await waitUntil { started.value.load(ordering: .relaxed) }
        await server.shutdown(gracePeriod: .seconds(2))
        let wound = woundUp.value.load(ordering: .relaxed)
        #expect(wound)
        #expect(try await client.waitForClose())
    }

    @Test func listensOnIPv6Loopback() async throws {
        let server = HTTPServer(handler: ClosureHandler { _ in .text("six") })
        let port = try await server.start(host: "[::1]", port: 0)
        #expect(port > 0)
        let client = try await RawHTTPClient(host: "::1", port: port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.readResponse().text == "six")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func listensOnAUnixSocketWithMode0600AndReplacesAStaleFile() async throws {
        let path = "/tmp/kiewatch-http-test-\(getpid()).sock"
        // A stale socket file, as a crashed process leaves it: bound, then closed without unlink.
        do {
            let stale = try Socket.stream(family: AF_UNIX)
            let fd = stale.descriptor
            try SocketAddress.unix(path: path).withSockAddr { address, length in
                #expect(Glibc.bind(fd, address, length) == 0)
            }
            stale.close()
            #expect(access(path, F_OK) == 0)
        }
        _ = FileManager.default.createFile(atPath: path + ".not-a-socket", contents: Data("x".utf8))
        defer { unlink(path + ".not-a-socket") }
        let refused = HTTPServer(handler: ClosureHandler { _ in .text("") })
        await #expect(throws: HTTPServerError.self) { try await refused.start(unixSocketPath: path + ".not-a-socket") }
        await refused.shutdown(gracePeriod: .zero)

        let server = HTTPServer(handler: ClosureHandler { request in .text("unix \(request.path)") })
        try await server.start(unixSocketPath: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        // A second server on the same live path is refused, not allowed to steal it.
        let thief = HTTPServer(handler: ClosureHandler { _ in .text("") })
        await #expect(throws: HTTPServerError.self) { try await thief.start(unixSocketPath: path) }
        await thief.shutdown(gracePeriod: .zero)

        let client = try await RawHTTPClient(unixPath: path)
        try await client.send("GET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.readResponse().text == "unix /admin")
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(access(path, F_OK) != 0)
    }

    @Test func startReportsBindFailures() async throws {
        let first = HTTPServer(handler: ClosureHandler { _ in .text("") })
        let port = try await first.start(host: "127.0.0.1", port: 0)
        let second = HTTPServer(handler: ClosureHandler { _ in .text("") })
        do {
            try await second.start(host: "127.0.0.1", port: port)
            Issue.record("bind to a used port succeeded")
        } catch {
            #expect(error.code == .syscall)
            #expect(error.errno == EADDRINUSE)
        }
        await #expect(throws: HTTPServerError.self) { try await second.start(host: "127.0.0.1", port: 70_000) }
        await first.shutdown(gracePeriod: .zero)
        await second.shutdown(gracePeriod: .zero)
    }

    @Test func configurationDescribesItsDefaults() {
        let table = HTTPServer.Configuration().describe()
        #expect(table.contains("| `maxHeaderBytes` | 80 KiB | 431, close |"))
        #expect(table.contains("| `maxBodyBytes` | 16 MiB | 413, close |"))
        #expect(table.contains("| `maxConnections` | 4096 | 503, close |"))
    }
}
