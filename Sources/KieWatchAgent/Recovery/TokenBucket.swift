import KieWatchCore
import Synchronization

/// A token bucket on the injected clock: at most `ratePerSecond` operations per second on
/// average, with a burst of `burst`. Recovery polls go through one so the agent never
/// approaches Kie's 10 requests/s per key.
public final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var updatedAt: EpochMillis
    }

    public let ratePerSecond: Double
    public let burst: Double
    private let clock: any WallClock
    private let state: Mutex<State>

    public init(ratePerSecond: Double, burst: Double = 1, clock: any WallClock) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
        self.clock = clock
        state = Mutex(State(tokens: max(1, burst), updatedAt: clock.now()))
    }

    /// Takes a token if one is available now.
    public func tryAcquire() -> Bool {
        let now = clock.now()
        return state.withLock { s in
            refill(&s, now: now)
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }

    /// Milliseconds until the next token (0 when one is available).
    public func millisUntilAvailable() -> Int64 {
        let now = clock.now()
        return state.withLock { s in
            refill(&s, now: now)
            guard s.tokens < 1 else { return 0 }
            return Int64(((1 - s.tokens) / ratePerSecond * 1000).rounded(.up))
        }
    }

    private func refill(_ s: inout State, now: EpochMillis) {
        guard now > s.updatedAt else { return }
        s.tokens = min(burst, s.tokens + Double(now - s.updatedAt) / 1000 * ratePerSecond)
        s.updatedAt = now
    }
}
