import Synchronization

/// One counter series: a monotonically increasing total, updated lock-free.
///
/// Whole increments (the common case: one more request) go to an integer with a single
/// atomic add and stay exact past 2^53; fractional increments (credits) go to a double
/// through a compare-exchange loop. The value is their sum.
public final class Counter: Sendable, LabelledSeries {
    /// The label values this series was created with (after folding).
    public let labelValues: [String]
    /// `name_total{labels} ` (the same in both formats) then `name_created{labels} `
    /// (OpenMetrics only), in one buffer.
    private let rendered: [UInt8]
    private let createdStart: Int
    private let whole = Atomic<UInt64>(0)
    private let fraction = Atomic<UInt64>(0)
    /// Seconds since the epoch as a bit pattern; NaN once restored without a known start.
    private let created: Atomic<UInt64>

    init(descriptor: MetricDescriptor, labelValues: [String], labelPairs: [UInt8], createdAt: Double) {
        self.labelValues = labelValues
        let samplePrefix = ExpositionText.samplePrefix(descriptor.name, labelPairs)
        rendered = samplePrefix + ExpositionText.samplePrefix(descriptor.openMetricsName + "_created", labelPairs)
        createdStart = samplePrefix.count
        created = Atomic(createdAt.bitPattern)
    }

    public func increment() {
        whole.wrappingAdd(1, ordering: .relaxed)
    }

    /// Adds a whole amount with one atomic add. `Int` so a literal (`increment(by: 3)`)
    /// picks this exact path; a negative amount is a bug, ignored in release builds.
    public func increment(by amount: Int) {
        assert(amount >= 0, "a counter cannot decrease (got \(amount))")
        guard amount >= 0 else { return }
        whole.wrappingAdd(UInt64(amount), ordering: .relaxed)
    }

    /// Adds a non-negative amount; a negative or NaN amount is a bug and is ignored in
    /// release builds rather than making the total go backwards.
    public func increment(by amount: Double) {
        assert(amount >= 0, "a counter cannot decrease (got \(amount))")
        guard amount >= 0, amount.isFinite else { return }
        if amount == amount.rounded(.towardZero), amount < 9_007_199_254_740_992 {
            whole.wrappingAdd(UInt64(amount), ordering: .relaxed)
        } else {
            fraction.addDouble(amount)
        }
    }

    public var value: Double {
        Double(whole.load(ordering: .relaxed)) + fraction.loadDouble()
    }

    /// Sets the starting total when the agent rebuilds counters from its store at startup.
    ///
    /// Call it before the series sees traffic: it replaces the total rather than adding.
    /// `createdAt` is when the total started counting (the oldest stored row); without it
    /// no `_created` sample is exposed, since "now" would tell OpenMetrics ingestors that
    /// the whole restored total appeared at once.
    public func restore(to total: Double, createdAt: Double?) {
        precondition(total >= 0 && total.isFinite, "a counter total must be finite and non-negative")
        if total == total.rounded(.towardZero), total < 9_007_199_254_740_992 {
            whole.store(UInt64(total), ordering: .relaxed)
            fraction.storeDouble(0)
        } else {
            whole.store(0, ordering: .relaxed)
            fraction.storeDouble(total)
        }
        created.storeDouble(createdAt ?? .nan)
    }

    func write(to encoder: inout ExpositionEncoder) {
        rendered.withUnsafeBufferPointer { rendered in
            encoder.appendSample(UnsafeBufferPointer(rebasing: rendered[..<createdStart]), value)
            if encoder.format == .openMetrics {
                let createdAt = created.loadDouble()
                if !createdAt.isNaN {
                    encoder.appendSample(UnsafeBufferPointer(rebasing: rendered[createdStart...]), timestamp: createdAt)
                }
            }
        }
    }
}
