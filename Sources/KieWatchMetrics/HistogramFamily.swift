/// A histogram metric family: metadata, bucket bounds shared by all its series, and the
/// series, one per label-value combination.
///
/// Keep the `Histogram` that `labels(...)` returns on the hot path: observing takes no lock.
public final class HistogramFamily: Sendable, ExposedFamily {
    let descriptor: MetricDescriptor
    public let buckets: HistogramBuckets
    private let layout: HistogramLayout
    private let table: SeriesTable<Histogram>
    private let clock: MetricRegistry.Clock

    init(descriptor: MetricDescriptor, buckets: HistogramBuckets, limiters: [String: LabelValueLimiter],
         clock: @escaping MetricRegistry.Clock) {
        self.descriptor = descriptor
        self.buckets = buckets
        self.clock = clock
        layout = HistogramLayout(buckets)
        table = SeriesTable(familyName: descriptor.name, labelNames: descriptor.labelNames, limiters: limiters)
        if descriptor.labelNames.isEmpty { _ = labels() }
    }

    public var name: String { descriptor.name }
    public var labelNames: [String] { descriptor.labelNames }

    /// The series for these label values, in the order of `labelNames`.
    public func labels(_ values: String...) -> Histogram {
        labels(values)
    }

    public func labels(_ values: [String]) -> Histogram {
        table.series(for: values) { folded in
            Histogram(descriptor: descriptor, labelValues: folded, labelPairs: descriptor.labelPairs(for: folded),
                      layout: layout, createdAt: clock(), clock: clock)
        }
    }

    func matches(_ other: MetricDescriptor, buckets: HistogramBuckets?) -> Bool {
        descriptor.type == other.type && descriptor.help == other.help && descriptor.labelNames == other.labelNames
            && descriptor.unit == other.unit && buckets == self.buckets
    }

    func write(to encoder: inout ExpositionEncoder) {
        encoder.appendHeader(descriptor)
        let series = table.snapshot()
        for index in series.indices { series[index].write(to: &encoder) }
    }
}
