/// A loop that runs until its task is cancelled (the relay, recovery polls, gauge refreshes),
/// as a `Service`: it has started as soon as it runs, and its graceful stop is that
/// cancellation (see `ServiceContext.cancelOnGracefulShutdown`).
package struct LoopService: Service {
    package let name: String
    private let body: @Sendable () async -> Void

    package init(_ name: String, _ body: @escaping @Sendable () async -> Void) {
        self.name = name
        self.body = body
    }

    package func run(_ context: ServiceContext) async {
        context.started()
        await context.cancelOnGracefulShutdown(body)
    }
}
