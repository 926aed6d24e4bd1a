/// A long-lived part of the process (the store writer, an HTTP listener, a background loop),
/// run by a `ServiceGroup` (swift-service-lifecycle's `Service`, with a start signal added so
/// the group can start services in order).
///
/// `run` gets the service ready (opens, binds: a throw here fails the group's start), calls
/// `context.started()`, then serves until `context.gracefulShutdown()` returns, stops within
/// the deadline it returns, and returns. Cancellation of the calling task is the escalation
/// (the stop was cut short): stop now, waiting for nothing. A service that owns a thread (an
/// epoll loop, the writer) starts or adopts it in `run` and awaits its end there.
package protocol Service: Sendable {
    /// Names the service in logs and errors (`store`, `http`, `relay`).
    var name: String { get }

    /// Whether the group still waits for this service after the stop was cut short (the
    /// bound passed, a second signal). Only for a stop that must complete and ends promptly
    /// once cancelled: the store writer, whose stop commits what is queued. Every other
    /// service still running then is cancelled and left behind.
    var finishesWhenCut: Bool { get }

    func run(_ context: ServiceContext) async throws
}

extension Service {
    package var finishesWhenCut: Bool { false }
}
