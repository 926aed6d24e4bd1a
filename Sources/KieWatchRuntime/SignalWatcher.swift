import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM/SIGINT (or any signals) into something `main` can `await`, so shutdown runs
/// as ordinary async code (stop accepting, drain, flush the store) instead of in a handler.
///
/// The signals' default action is replaced by `SIG_IGN` first (otherwise the process would die
/// before the dispatch source sees them); signals that arrive before `wait()` are not lost.
/// libdispatch arms the sources asynchronously, so a signal in the first instant after `init`
/// may be ignored: create the watcher early in `main`.
///
/// ```swift
/// let signals = SignalWatcher()            // as early as possible
/// ...start services...
/// let signal = await signals.wait()         // SIGTERM or SIGINT
/// await server.shutdown(gracePeriod: .seconds(10))
/// ```
public final class SignalWatcher: Sendable {
    private struct State {
        var received: [Int32] = []
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }
    /// Shared with the dispatch sources' handlers.
    private final class Mailbox: Sendable {
        let state = Mutex(State())
    }
    private let mailbox = Mailbox()
    private let sources: [Source]

    /// Keeps a dispatch source alive. `@unchecked Sendable`: the source is only created,
    /// resumed and cancelled here, and `DispatchSource` is itself thread-safe.
    private struct Source: @unchecked Sendable {
        let source: any DispatchSourceSignal
    }

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        let queue = DispatchQueue(label: "kiewatch.signals")
        var sources: [Source] = []
        let mailbox = self.mailbox
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let waiters = mailbox.state.withLock { state -> [CheckedContinuation<Int32, Never>] in
                    if state.waiters.isEmpty {
                        state.received.append(number)
                        return []
                    }
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: number) }
            }
            source.resume()
            sources.append(Source(source: source))
        }
        self.sources = sources
    }

    deinit {
        for source in sources { source.source.cancel() }
    }

    /// Returns the next signal received (one already received and not yet returned, at once).
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let ready: Int32? = mailbox.state.withLock { state in
                if !state.received.isEmpty { return state.received.removeFirst() }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
