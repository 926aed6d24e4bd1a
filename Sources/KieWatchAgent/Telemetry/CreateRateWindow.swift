import KieWatchCore
import Synchronization

/// Creates in the last 10 s, as a fraction of Kie's 20: alerts fire before 429s start.
public final class CreateRateWindow: Sendable {
    public static let windowMillis: Int64 = 10_000
    public static let kieLimit = 20

    private let clock: any WallClock
    private let times: Mutex<[EpochMillis]>

    public init(clock: any WallClock) {
        self.clock = clock
        times = Mutex([])
    }

    public func record() {
        let now = clock.now()
        times.withLock { t in
            t.append(now)
            prune(&t, now: now)
        }
    }

    public func count() -> Int {
        let now = clock.now()
        return times.withLock { t in
            prune(&t, now: now)
            return t.count
        }
    }

    public func utilization() -> Double { Double(count()) / Double(Self.kieLimit) }

    private func prune(_ t: inout [EpochMillis], now: EpochMillis) {
        let cutoff = now - Self.windowMillis
        if let keep = t.firstIndex(where: { $0 > cutoff }) {
            if keep > 0 { t.removeFirst(keep) }
        } else {
            t.removeAll(keepingCapacity: true)
        }
    }
}
