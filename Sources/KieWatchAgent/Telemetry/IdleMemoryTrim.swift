import CLinux
import Synchronization

/// Hands the heap pages freed after a burst (startup queries, a webhook flood, TLS handshakes)
/// back to the kernel once the agent has gone quiet. glibc keeps freed memory in its arenas
/// for reuse, so without this the resident size after a burst stays near the burst's peak
/// (measured: 28.0 MB idle after opening a store of 213,000 tasks, 21.3 MB once trimmed).
///
/// `tick()` runs every few seconds; it trims when nothing was served since the previous tick
/// (or since `init`, for the first) and something was since the last trim: once per quiet
/// spell, never while requests keep coming, where the pages would only be faulted back in.
/// Started right after startup, its first tick trims what opening the store left behind.
package final class IdleMemoryTrim: Sendable {
    /// A number that grows with every request served (the HTTP server's counters).
    private let activity: @Sendable () -> Int
    private let release: @Sendable () -> Void
    private let state: Mutex<(seen: Int, trimmedAt: Int?)>

    package init(activity: @escaping @Sendable () -> Int, release: @escaping @Sendable () -> Void = { _ = malloc_trim(0) }) {
        self.activity = activity
        self.release = release
        state = Mutex((activity(), nil))
    }

    /// Trims if the agent has been quiet since the previous tick. Returns whether it did.
    @discardableResult
    package func tick() -> Bool {
        let now = activity()
        let quiet = state.withLock { s -> Bool in
            defer { s.seen = now }
            guard s.seen == now, s.trimmedAt != now else { return false }
            s.trimmedAt = now
            return true
        }
        if quiet { release() }
        return quiet
    }

    func run(every interval: Duration = .seconds(3)) async {
        while !Task.isCancelled {
            tick()
            try? await Task.sleep(for: interval)
        }
    }
}
