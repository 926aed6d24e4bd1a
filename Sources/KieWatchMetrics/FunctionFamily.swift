/// A family with one unlabelled sample whose value is computed at scrape time.
///
/// For values that already live elsewhere (queue depth, database bytes, /proc figures):
/// reading them when Prometheus asks avoids keeping a copy up to date.
final class FunctionFamily: ExposedFamily {
    let descriptor: MetricDescriptor
    private let samplePrefix: [UInt8]
    private let body: @Sendable () -> Double

    init(descriptor: MetricDescriptor, body: @escaping @Sendable () -> Double) {
        precondition(descriptor.labelNames.isEmpty)
        self.descriptor = descriptor
        self.body = body
        // A counter's registered name already ends in `_total`, the sample name in both formats.
        samplePrefix = ExpositionText.samplePrefix(descriptor.name, [])
    }

    func matches(_ other: MetricDescriptor, buckets: HistogramBuckets?) -> Bool {
        false  // the closure cannot be compared, so a second registration is a bug
    }

    func write(to encoder: inout ExpositionEncoder) {
        encoder.appendHeader(descriptor)
        encoder.appendSample(samplePrefix, body())
    }
}
