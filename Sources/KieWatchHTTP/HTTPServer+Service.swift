import KieWatchRuntime
import Synchronization

/// An `HTTPServer` listening on one address, as a `Service`: it has started once the
/// listener is bound and its event loops (one thread each) run; its graceful stop is
/// `shutdown(gracePeriod:)` with the time left to the group's bound, and a cut (cancellation)
/// closes what is left at once.
package struct HTTPServerService: Service {
    package let name: String
    package let server: HTTPServer
    private let host: String
    private let port: Int
    private let onBound: @Sendable (Int) -> Void
    private let bound = BoundPort()

    /// `onBound` gets the bound port (the chosen one for port 0) before the next service starts.
    package init(
        _ name: String = "http", server: HTTPServer, host: String, port: Int,
        onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.name = name
        self.server = server
        self.host = host
        self.port = port
        self.onBound = onBound
    }

    /// The bound port once the service has started (0 before).
    package var boundPort: Int { bound.port.load(ordering: .relaxed) }

    package func run(_ context: ServiceContext) async throws {
        let bound: Int
        do {
            bound = try await server.start(host: host, port: port)
        } catch {
            await server.shutdown(gracePeriod: .zero)  // its event loops may have started
            throw error
        }
        self.bound.port.store(bound, ordering: .relaxed)
        onBound(bound)
        context.started()
        let deadline = await context.gracefulShutdown()
        await server.shutdown(gracePeriod: deadline.remaining)
    }
}

/// Where `HTTPServerService` keeps its bound port (the service itself is a value).
private final class BoundPort: Sendable {
    let port = Atomic<Int>(0)
}
