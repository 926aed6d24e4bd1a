import Synchronization

/// Milliseconds since the Unix epoch: the one time unit stored and passed around in kiewatch.
public typealias EpochMillis = Int64

/// The source of "now" for everything that has deadlines, retries or windows.
///
/// Injected so that deadlines, backoff and recovery are tested by advancing a `TestClock`
/// instead of sleeping.
public protocol WallClock: Sendable {
    func now() -> EpochMillis
}

/// The real clock (`CLOCK_REALTIME`).
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> EpochMillis {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return EpochMillis(ts.tv_sec) * 1000 + EpochMillis(ts.tv_nsec / 1_000_000)
    }
}

/// A clock that only moves when told to; for tests and the simulator's virtual time.
public final class TestClock: WallClock {
    private let current: Mutex<EpochMillis>

    public init(_ start: EpochMillis = 1_767_225_600_000) {  // 2026-01-01T00:00:00Z
        current = Mutex(start)
    }

    public func now() -> EpochMillis { current.withLock { $0 } }

    public func advance(byMillis delta: EpochMillis) {
        current.withLock { $0 += delta }
    }

    public func set(_ value: EpochMillis) {
        current.withLock { $0 = value }
    }
}

/// Monotonic nanoseconds, for measuring latencies (never for timestamps).
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
