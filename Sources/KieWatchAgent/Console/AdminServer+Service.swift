import KieWatchRuntime

/// The admin socket as a `Service`: it has started once the socket is bound and its accept
/// thread runs; its graceful stop ends every console session, waiting for their threads until
/// the group's deadline. Both block (socket calls, a wait on threads), so they run on a queue
/// of their own, off the cooperative pool.
struct AdminServerService: Service {
    let name = "admin"
    let admin: AdminServer
    private let blocking = BlockingExecutor(label: "kiewatch.admin.lifecycle")

    init(admin: AdminServer) {
        self.admin = admin
    }

    func run(_ context: ServiceContext) async throws {
        try await blocking.run { [admin] in try admin.start() }
        context.started()
        let deadline = await context.gracefulShutdown()
        await blocking.run { [admin] in admin.stop(waitingAtMost: deadline.remaining) }
    }
}
