/// What the registry holds: a family that can write itself into an exposition.
protocol ExposedFamily: AnyObject, Sendable {
    var descriptor: MetricDescriptor { get }
    /// Whether a second registration with `other`'s metadata may return this family.
    func matches(_ other: MetricDescriptor, buckets: HistogramBuckets?) -> Bool
    func write(to encoder: inout ExpositionEncoder)
}

extension ExposedFamily {
    func matches(_ other: MetricDescriptor, buckets: HistogramBuckets?) -> Bool {
        descriptor.type == other.type && descriptor.help == other.help
            && descriptor.labelNames == other.labelNames && descriptor.unit == other.unit && buckets == nil
    }
}
