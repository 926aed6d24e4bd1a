import Synchronization

/// One gauge series: a value that goes up and down, updated lock-free.
public final class Gauge: Sendable, LabelledSeries {
    /// The label values this series was created with (after folding).
    public let labelValues: [String]
    /// `name{labels} `, the same in both formats.
    private let samplePrefix: [UInt8]
    private let bits = Atomic<UInt64>(0)

    init(descriptor: MetricDescriptor, labelValues: [String], labelPairs: [UInt8]) {
        self.labelValues = labelValues
        samplePrefix = ExpositionText.samplePrefix(descriptor.name, labelPairs)
    }

    public func set(_ value: Double) {
        bits.storeDouble(value)
    }

    public func increment(by amount: Double = 1) {
        bits.addDouble(amount)
    }

    public func decrement(by amount: Double = 1) {
        bits.addDouble(-amount)
    }

    public var value: Double {
        bits.loadDouble()
    }

    func write(to encoder: inout ExpositionEncoder) {
        samplePrefix.withUnsafeBufferPointer { encoder.appendSample($0, value) }
    }
}
