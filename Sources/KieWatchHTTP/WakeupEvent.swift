import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// An `eventfd` that other threads signal to wake a thread sleeping in `epoll_wait`.
///
/// Shared by both event loops: each adds `descriptor` to its epoll set for `Epoll.input` and
/// calls `drain()` when it fires. Signals coalesce (the counter just grows), so a burst of
/// `signal()` calls costs one wake-up.
///
/// `Sendable`: the only state is the descriptor number; `write` and `read` on an eventfd are
/// atomic with respect to each other.
package final class WakeupEvent: Sendable {
    package let descriptor: Int32

    package init() throws(HTTPServerError) {
        descriptor = try syscallOrThrow("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit { Glibc.close(descriptor) }

    /// Makes the descriptor readable. Safe from any thread.
    package func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(descriptor, &one, MemoryLayout<UInt64>.size)
    }

    /// Resets the counter, so the descriptor is not readable until the next `signal()`.
    package func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(descriptor, &value, MemoryLayout<UInt64>.size)
    }
}
