import KieWatchRuntime

/// The store writer's thread as a `Service`, first to start and last to stop: it runs from
/// `StoreWriter.init` (the agent needs the store open before anything else exists), and its
/// stop, graceful or cut, commits everything queued, closes the connection and ends the
/// thread (`close()`), which `run` awaits. It `finishesWhenCut`: even a stop cut short waits
/// for that commit, so what was accepted is not lost.
package struct StoreWriterService: Service {
    package let name = "store"
    package let writer: StoreWriter

    package init(_ writer: StoreWriter) {
        self.writer = writer
    }

    package var finishesWhenCut: Bool { true }

    package func run(_ context: ServiceContext) async {
        context.started()
        _ = await context.gracefulShutdown()
        await writer.close()
    }
}
