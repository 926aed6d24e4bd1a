/// The upper bounds of a histogram's buckets (the `+Inf` bucket is implicit).
///
/// Bounds are fixed at registration: Prometheus can only aggregate histograms whose
/// buckets match, so every series of a family shares them.
public struct HistogramBuckets: Sendable, Hashable {
    public let upperBounds: [Double]

    /// Bounds must be finite and strictly increasing.
    public init(_ upperBounds: [Double]) {
        precondition(upperBounds.allSatisfy(\.isFinite), "bucket bounds must be finite (+Inf is implicit)")
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 },
                     "bucket bounds must be strictly increasing: \(upperBounds)")
        self.upperBounds = upperBounds
    }

    /// API call latency in seconds: 1 ms to 60 s. Kie's endpoints answer in tens to
    /// hundreds of milliseconds, with slow tails into tens of seconds before timing out.
    public static let apiLatency = HistogramBuckets([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ])

    /// Long durations in seconds: 1 s to 60 min, for video generation (create -> terminal)
    /// and webhook delays, which take minutes and are bounded by Kie's own timeouts.
    public static let longDurations = HistogramBuckets([
        1, 5, 10, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600,
    ])
}

/// A family's bucket bounds with their `le="..."} ` line endings pre-rendered per format.
struct HistogramLayout: Sendable {
    let upperBounds: [Double]
    /// Per format, the bucket line endings `le="2.5"} ` for every bucket including `+Inf`,
    /// concatenated (text spells `le="1"`, OpenMetrics's canonical numbers `le="1.0"`).
    let prometheusBucketEnds: BucketEnds
    let openMetricsBucketEnds: BucketEnds

    /// Bucket line endings in one buffer: bucket `i` is `bytes[offsets[i]..<offsets[i + 1]]`.
    struct BucketEnds: Sendable {
        let bytes: [UInt8]
        let offsets: [Int]

        init(_ bounds: [Double], openMetrics: Bool) {
            var bytes: [UInt8] = []
            var offsets = [0]
            for bound in bounds {
                bytes.append(contentsOf: "le=\"\(ExpositionText.canonicalBound(bound, openMetrics: openMetrics))\"} ".utf8)
                offsets.append(bytes.count)
            }
            self.bytes = bytes
            self.offsets = offsets
        }
    }

    init(_ buckets: HistogramBuckets) {
        upperBounds = buckets.upperBounds
        prometheusBucketEnds = BucketEnds(buckets.upperBounds + [.infinity], openMetrics: false)
        openMetricsBucketEnds = BucketEnds(buckets.upperBounds + [.infinity], openMetrics: true)
    }

    /// The index of the bucket a value falls in: the first bound >= value, else `+Inf`.
    @inline(__always)
    func bucketIndex(for value: Double) -> Int {
        upperBounds.partitioningIndex { value <= $0 }
    }
}
