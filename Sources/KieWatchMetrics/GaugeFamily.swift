/// A gauge metric family: its metadata and its series, one per label-value combination.
///
/// Keep the `Gauge` that `labels(...)` returns on the hot path: updating it takes no lock.
public final class GaugeFamily: Sendable, ExposedFamily {
    let descriptor: MetricDescriptor
    private let table: SeriesTable<Gauge>

    init(descriptor: MetricDescriptor, limiters: [String: LabelValueLimiter]) {
        self.descriptor = descriptor
        table = SeriesTable(familyName: descriptor.name, labelNames: descriptor.labelNames, limiters: limiters)
        if descriptor.labelNames.isEmpty { _ = labels() }
    }

    public var name: String { descriptor.name }
    public var labelNames: [String] { descriptor.labelNames }

    /// The series for these label values, in the order of `labelNames`.
    public func labels(_ values: String...) -> Gauge {
        labels(values)
    }

    public func labels(_ values: [String]) -> Gauge {
        table.series(for: values) { folded in
            Gauge(descriptor: descriptor, labelValues: folded, labelPairs: descriptor.labelPairs(for: folded))
        }
    }

    func write(to encoder: inout ExpositionEncoder) {
        encoder.appendHeader(descriptor)
        let series = table.snapshot()
        for index in series.indices { series[index].write(to: &encoder) }
    }
}
