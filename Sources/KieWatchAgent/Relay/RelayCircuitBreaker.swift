import KieWatchCore
import KieWatchHTTP
import Synchronization

/// Where a relay goes, as the circuit breaker and the `destination` label see it: scheme,
/// host and port of the callback URL (`https://app.example:443`), never its user info, path
/// or query (which may carry the app's secret).
struct RelayDestination: Hashable, Sendable, CustomStringConvertible {
    let description: String

    /// nil for a URL no client can use (its relay gives up at its first attempt anyway).
    init?(url: String) {
        guard let parsed = try? HTTPClientURL(url) else { return nil }
        let host = parsed.host.lowercased()
        description = "\(parsed.scheme.rawValue)://\(host.contains(":") ? "[\(host)]" : host):\(parsed.port)"
    }
}

/// One circuit per relay destination. Closed, every relay goes on its own schedule. After
/// `failureThreshold` consecutive failures that say the destination is down (no connection,
/// a timeout, HTTP 5xx, 408 or 429) the circuit opens: its relays are held, and one probe at a
/// time (the first relay due) tries the destination, after `probeInterval`, then after twice
/// that for each failed probe, up to `maxProbeIntervalMillis`. Any answer that shows the
/// destination up (2xx, or a 3xx/4xx that is about the one request) closes it, and the relays
/// it held go at once.
///
/// In memory only: after a restart every circuit starts closed and opens again after as many
/// failures. Destinations that fail now and then are remembered until they answer; past
/// `maxTracked` of them, the closed ones are forgotten.
final class RelayCircuitBreaker: Sendable {
    /// The longest wait between two probes (unless the configured interval is longer).
    static let maxProbeIntervalMillis: Int64 = 10 * 60_000
    static let maxTracked = 10_000

    enum Admission: Equatable {
        case deliver
        /// The one attempt the open circuit allows now; report its outcome with `probe: true`.
        case probe
        /// Not now: the circuit is open. Try again at `until` (the next probe time, or one
        /// interval from now while a probe is under way).
        case hold(until: EpochMillis)
    }

    /// What an attempt said about its destination.
    enum Signal: Equatable {
        case up
        case down(String)
        /// Nothing about the destination (a URL the client refuses, an attempt cut by a stop).
        case none
    }

    enum Transition: Equatable {
        case unchanged
        case opened(nextProbeAt: EpochMillis)
        case probeFailed(nextProbeAt: EpochMillis)
        /// Closed again; `held` are the relays it held (to be sent now).
        case closed(held: [Int64])
    }

    struct Circuit: Sendable {
        var failures = 0
        var openedAt: EpochMillis?
        var nextProbeAt: EpochMillis = 0
        var probeInterval: Int64
        var probing = false
        var lastError: String?
        /// Relays held while open, released when it closes.
        var held: Set<Int64> = []

        var isOpen: Bool { openedAt != nil }
    }

    let failureThreshold: Int
    let probeInterval: Int64
    let maxProbeInterval: Int64
    private let circuits = Mutex<[RelayDestination: Circuit]>([:])

    init(failureThreshold: Int, probeIntervalMillis: Int64) {
        self.failureThreshold = max(1, failureThreshold)
        probeInterval = max(1, probeIntervalMillis)
        maxProbeInterval = max(probeInterval, Self.maxProbeIntervalMillis)
    }

    /// Whether a relay to `destination` may be attempted now.
    func admit(_ destination: RelayDestination, relay id: Int64, now: EpochMillis) -> Admission {
        circuits.withLock { all in
            guard var circuit = all[destination], circuit.isOpen else { return .deliver }
            defer { all[destination] = circuit }
            if circuit.probing {
                circuit.held.insert(id)
                return .hold(until: now.saturatingAdding(circuit.probeInterval))
            }
            if now < circuit.nextProbeAt {
                circuit.held.insert(id)
                return .hold(until: circuit.nextProbeAt)
            }
            circuit.probing = true
            circuit.held.remove(id)
            return .probe
        }
    }

    /// Takes in what one attempt (of relay `id`) said; returns how the circuit changed. A relay
    /// that failed against an open circuit is held with the others: its own schedule would
    /// keep it waiting after the circuit closes.
    func record(
        _ destination: RelayDestination, _ signal: Signal, relay id: Int64, probe: Bool, now: EpochMillis
    ) -> Transition {
        circuits.withLock { all in
            switch signal {
            case .up:
                guard let circuit = all.removeValue(forKey: destination), circuit.isOpen else { return .unchanged }
                return .closed(held: circuit.held.sorted())
            case .none:
                if probe, var circuit = all[destination] {
                    // The probe said nothing: the next relay due may probe at once.
                    circuit.probing = false
                    all[destination] = circuit
                }
                return .unchanged
            case .down(let error):
                var circuit = all[destination] ?? Circuit(probeInterval: probeInterval)
                circuit.failures += 1
                circuit.lastError = error
                defer {
                    if circuit.isOpen { circuit.held.insert(id) }
                    all[destination] = circuit
                    if all.count > Self.maxTracked { all = all.filter { $0.value.isOpen } }
                }
                if circuit.isOpen {
                    // A delivery that started before the circuit opened changes nothing.
                    guard probe else { return .unchanged }
                    circuit.probing = false
                    circuit.probeInterval = min(circuit.probeInterval.saturatingMultiplied(by: 2), maxProbeInterval)
                    circuit.nextProbeAt = now.saturatingAdding(circuit.probeInterval)
                    return .probeFailed(nextProbeAt: circuit.nextProbeAt)
                }
                guard circuit.failures >= failureThreshold else { return .unchanged }
                circuit.openedAt = now
                circuit.probeInterval = probeInterval
                circuit.nextProbeAt = now.saturatingAdding(probeInterval)
                return .opened(nextProbeAt: circuit.nextProbeAt)
            }
        }
    }

    func isOpen(_ destination: RelayDestination) -> Bool {
        circuits.withLock { $0[destination]?.isOpen ?? false }
    }

    /// Lets every open circuit probe at its next relay due, whatever its wait: an engineer who
    /// puts relays back or resumes deliveries says the app should be up again. The probe
    /// interval stays as it was, so a destination still down is not tried faster after it.
    func probeSoon(now: EpochMillis) {
        circuits.withLock { all in
            for (destination, var circuit) in all where circuit.isOpen && circuit.nextProbeAt > now {
                circuit.nextProbeAt = now
                all[destination] = circuit
            }
        }
    }

    /// Every destination with a failure since its last success, by destination.
    func snapshot() -> [RelayCircuitSnapshot] {
        circuits.withLock { all in
            all.map { destination, circuit in
                RelayCircuitSnapshot(
                    destination: destination.description, isOpen: circuit.isOpen, probing: circuit.probing,
                    consecutiveFailures: circuit.failures, openedAt: circuit.openedAt,
                    nextProbeAt: circuit.isOpen ? circuit.nextProbeAt : nil, held: circuit.held.count,
                    lastError: circuit.lastError)
            }.sorted { $0.destination < $1.destination }
        }
    }
}
