import KieWatchCore
import Synchronization

/// How long a task of each model may run before its missing callback makes it stale.
///
/// Order of authority: `deadline.<model>` in the config file, then `deadline.default`, and
/// otherwise a deadline learned from that model's observed completion times (a high
/// percentile times a factor, clamped), then the built-in default. The console shows which
/// rule chose it.
public final class DeadlinePolicy: Sendable {
    public struct Choice: Sendable, Equatable {
        public var millis: Int64
        /// Human-readable origin, e.g. `config deadline.sora-2-pro` or `learned: p95 42s x3 of 120 tasks`.
        public var reason: String

        public init(millis: Int64, reason: String) {
            self.millis = millis
            self.reason = reason
        }
    }

    public struct Settings: Sendable {
        public var perModel: [String: Int64] = [:]
        public var configuredDefault: Int64?
        public var builtInDefault: Int64 = 15 * 60_000
        /// The percentile of observed durations used when learning (0…1).
        public var percentile: Double = 0.95
        public var factor: Double = 3
        public var floorMillis: Int64 = 2 * 60_000
        public var ceilingMillis: Int64 = 60 * 60_000
        /// Observations needed before a learned deadline is trusted.
        public var minimumSamples: Int = 20
        /// Observations kept per model (the newest).
        public var window: Int = 500
        public init() {}
    }

    public let settings: Settings
    private let samples: Mutex<[String: DurationRing]>

    public init(settings: Settings) {
        self.settings = settings
        samples = Mutex([:])
    }

    /// Reads `deadline.<model>` and `deadline.default` entries of a config file.
    public static func settings(from config: ConfigFile?) throws(ConfigError) -> Settings {
        var s = Settings()
        guard let config else { return s }
        for (model, entry) in config.entries(withPrefix: "deadline.") {
            let millis = try DurationText.parse(entry.value, for: config.location(of: "deadline.\(model)"))
            guard millis > 0 else { throw ConfigError("\(config.location(of: "deadline.\(model)")): must be positive") }
            if model == "default" { s.configuredDefault = millis } else { s.perModel[model] = millis }
        }
        return s
    }

    /// Records how long a finished task of `model` took (create → terminal).
    public func observe(model: String, durationMillis: Int64) {
        guard durationMillis > 0 else { return }
        samples.withLock { all in
            all[model, default: DurationRing(capacity: settings.window)].append(durationMillis)
        }
    }

    public func deadline(for model: String) -> Choice {
        if let configured = settings.perModel[model] {
            return Choice(millis: configured, reason: "config deadline.\(model)")
        }
        if let d = settings.configuredDefault { return Choice(millis: d, reason: "config deadline.default") }
        let sorted = samples.withLock { $0[model]?.sorted() } ?? []
        if sorted.count >= settings.minimumSamples {
            let index = min(sorted.count - 1, Int((Double(sorted.count) * settings.percentile).rounded(.up)) - 1)
            let p = sorted[max(0, index)]
            // Scaled and clamped as a Double: a product beyond Int64 must not trap in `Int64(_:)`.
            let raw = Double(p) * settings.factor
            let clamped = raw.isNaN
                ? settings.ceilingMillis
                : Int64(min(max(raw, Double(settings.floorMillis)), Double(settings.ceilingMillis)))
            let pct = Int((settings.percentile * 100).rounded())
            return Choice(
                millis: clamped,
                reason: "learned: p\(pct) \(DurationText.format(millis: p >= 10_000 ? p / 1000 * 1000 : p)) x\(formatFactor(settings.factor)) of \(sorted.count) tasks"
                    + (Double(clamped) != raw ? " (clamped)" : ""))
        }
        return Choice(millis: settings.builtInDefault, reason: "built-in default")
    }

    private func formatFactor(_ f: Double) -> String {
        f.rounded() == f ? String(Int(f)) : String(f)
    }
}

/// The newest N durations of one model.
struct DurationRing: Sendable {
    private var values: [Int64] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func append(_ v: Int64) {
        if values.count < capacity {
            values.append(v)
        } else {
            values[next] = v
            next = (next + 1) % capacity
        }
    }

    func sorted() -> [Int64] { values.sorted() }
}
