import Synchronization

/// One histogram series: per-bucket counts and a sum, updated lock-free; the latest
/// exemplar of each bucket behind a small lock.
///
/// Counts are stored per bucket (not cumulative) so an observation is one atomic add plus
/// the sum's compare-exchange; the cumulative `le` view and `_count` are computed at scrape
/// time from the same loads, so `_count` always equals the `+Inf` bucket.
public final class Histogram: @unchecked Sendable, LabelledSeries {
    // @unchecked Sendable: `counts` is an unsafe pointer, which the compiler cannot check.
    // It is allocated and initialized in `init`, freed only in `deinit`, never reassigned,
    // and every access goes through `Atomic` operations, so sharing it across threads is safe.
    // All other stored properties are immutable or `Atomic`/`Mutex`.

    /// The label values this series was created with (after folding).
    public let labelValues: [String]
    private let layout: HistogramLayout
    private let counts: UnsafeMutablePointer<Atomic<UInt64>>
    private let bucketCount: Int
    private let sumBits = Atomic<UInt64>(0)
    private let exemplars: Mutex<[Exemplar?]>
    private let hasExemplars = Atomic<Bool>(false)
    private let createdAt: Double
    private let clock: MetricRegistry.Clock
    /// In one buffer: `name_bucket{labels,` (or `name_bucket{`; the `le` part comes from
    /// the layout), then the `_sum`, `_count` and `_created` sample prefixes.
    private let rendered: [UInt8]
    /// Where the `_sum`, `_count` and `_created` prefixes start in `rendered`.
    private let sumStart: Int
    private let countStart: Int
    private let createdStart: Int

    init(descriptor: MetricDescriptor, labelValues: [String], labelPairs: [UInt8], layout: HistogramLayout,
         createdAt: Double, clock: @escaping MetricRegistry.Clock) {
        self.labelValues = labelValues
        self.layout = layout
        bucketCount = layout.upperBounds.count + 1
        counts = .allocate(capacity: bucketCount)
        for index in 0..<bucketCount { (counts + index).initialize(to: Atomic(0)) }
        exemplars = Mutex(Array(repeating: nil, count: bucketCount))
        self.createdAt = createdAt
        self.clock = clock
        var rendered = Array((descriptor.name + "_bucket{").utf8) + labelPairs
        if !labelPairs.isEmpty { rendered.append(UInt8(ascii: ",")) }
        sumStart = rendered.count
        rendered += ExpositionText.samplePrefix(descriptor.name + "_sum", labelPairs)
        countStart = rendered.count
        rendered += ExpositionText.samplePrefix(descriptor.name + "_count", labelPairs)
        createdStart = rendered.count
        rendered += ExpositionText.samplePrefix(descriptor.name + "_created", labelPairs)
        self.rendered = rendered
    }

    deinit {
        counts.deinitialize(count: bucketCount)
        counts.deallocate()
    }

    /// Counts `value` in its bucket and adds it to the sum. NaN and the infinities are dropped:
    /// one would turn `_sum` into NaN or +Inf for the life of the process (and every rate
    /// and average built on it), whatever came after.
    public func observe(_ value: Double) {
        guard value.isFinite else { return }
        counts[layout.bucketIndex(for: value)].wrappingAdd(1, ordering: .relaxed)
        sumBits.addDouble(value)
    }

    /// Observes a value and keeps it as its bucket's latest exemplar (OpenMetrics only),
    /// e.g. `observe(412.5, exemplar: ["task_id": id])` so a slow bucket links to a task.
    ///
    /// `timestamp` defaults to the registry clock. Exemplar labels over the OpenMetrics
    /// limit of 128 characters are dropped; the observation still counts. A NaN or infinite
    /// value is dropped, exemplar and all, as in `observe(_:)`.
    public func observe(_ value: Double, exemplar labels: KeyValuePairs<String, String>, timestamp: Double? = nil) {
        guard value.isFinite else { return }
        let index = layout.bucketIndex(for: value)
        if let exemplar = Exemplar(labels: labels, value: value, timestamp: timestamp ?? clock()) {
            exemplars.withLock { $0[index] = exemplar }
            hasExemplars.store(true, ordering: .relaxed)
        }
        counts[index].wrappingAdd(1, ordering: .relaxed)
        sumBits.addDouble(value)
    }

    /// Total observations so far.
    public var count: UInt64 {
        (0..<bucketCount).reduce(0) { $0 &+ counts[$1].load(ordering: .relaxed) }
    }

    /// Sum of all observed values.
    public var sum: Double {
        sumBits.loadDouble()
    }

    func write(to encoder: inout ExpositionEncoder) {
        if encoder.format == .openMetrics, hasExemplars.load(ordering: .relaxed) {
            exemplars.withLock { exemplars in
                writeSamples(to: &encoder, exemplars: exemplars)
            }
        } else {
            writeSamples(to: &encoder, exemplars: nil)
        }
    }

    private func writeSamples(to encoder: inout ExpositionEncoder, exemplars: [Exemplar?]?) {
        let bucketEnds = encoder.format == .openMetrics ? layout.openMetricsBucketEnds : layout.prometheusBucketEnds
        rendered.withUnsafeBufferPointer { rendered in
            bucketEnds.bytes.withUnsafeBufferPointer { ends in
                let bucketPrefix = UnsafeBufferPointer(rebasing: rendered[..<sumStart])
                var cumulative: UInt64 = 0
                for index in 0..<bucketCount {
                    cumulative &+= counts[index].load(ordering: .relaxed)
                    let end = UnsafeBufferPointer(rebasing: ends[bucketEnds.offsets[index]..<bucketEnds.offsets[index + 1]])
                    encoder.appendCountWithoutNewline(bucketPrefix, end, cumulative)
                    if let exemplar = exemplars?[index] { encoder.appendExemplar(exemplar) }
                    encoder.appendNewline()
                }
                encoder.appendSample(UnsafeBufferPointer(rebasing: rendered[sumStart..<countStart]), sumBits.loadDouble())
                encoder.appendSample(UnsafeBufferPointer(rebasing: rendered[countStart..<createdStart]), count: cumulative)
                if encoder.format == .openMetrics {
                    encoder.appendSample(UnsafeBufferPointer(rebasing: rendered[createdStart...]), timestamp: createdAt)
                }
            }
        }
    }
}
