/// A counter metric family: its metadata and its series, one per label-value combination.
///
/// Keep the `Counter` that `labels(...)` returns on the hot path: updating it takes no
/// lock, while `labels(...)` takes one to find or create the series.
public final class CounterFamily: Sendable, ExposedFamily {
    let descriptor: MetricDescriptor
    private let table: SeriesTable<Counter>
    private let clock: MetricRegistry.Clock

    init(descriptor: MetricDescriptor, limiters: [String: LabelValueLimiter], clock: @escaping MetricRegistry.Clock) {
        self.descriptor = descriptor
        self.clock = clock
        table = SeriesTable(familyName: descriptor.name, labelNames: descriptor.labelNames, limiters: limiters)
        // A family without labels has exactly one series: expose it (as 0) from the start.
        if descriptor.labelNames.isEmpty { _ = labels() }
    }

    public var name: String { descriptor.name }
    public var labelNames: [String] { descriptor.labelNames }

    /// The series for these label values, in the order of `labelNames`.
    public func labels(_ values: String...) -> Counter {
        labels(values)
    }

    public func labels(_ values: [String]) -> Counter {
        table.series(for: values) { folded in
            Counter(descriptor: descriptor, labelValues: folded, labelPairs: descriptor.labelPairs(for: folded),
                    createdAt: clock())
        }
    }

    func write(to encoder: inout ExpositionEncoder) {
        encoder.appendHeader(descriptor)
        let series = table.snapshot()
        for index in series.indices { series[index].write(to: &encoder) }
    }
}
