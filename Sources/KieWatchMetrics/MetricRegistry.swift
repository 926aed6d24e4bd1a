import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The set of metric families one `/metrics` endpoint exposes.
///
/// Registration takes a lock and is idempotent (registering the same family twice returns
/// the first); a conflicting registration is a programming error and traps. Rendering writes
/// families sorted by name and series sorted by label values, so two scrapes of the same
/// state are byte-identical.
public final class MetricRegistry: Sendable {
    /// Seconds since the Unix epoch, used for `_created` samples and exemplar timestamps.
    public typealias Clock = @Sendable () -> Double

    /// The system's real-time clock.
    public static let wallClock: Clock = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    private struct State: ~Copyable {
        var families: [String: any ExposedFamily] = [:]
        var sorted: [any ExposedFamily] = []
        /// Sample names already in use, to the family that uses them.
        var claimedNames: [String: String] = [:]
    }

    private let clock: Clock
    private let state = Mutex(State())
    /// The size of the previous exposition, so the next one reserves enough up front.
    private let lastRenderSize = Atomic<Int>(4096)

    /// `clock` is injectable so tests get exact `_created` and exemplar timestamps.
    public init(clock: @escaping Clock = MetricRegistry.wallClock) {
        self.clock = clock
    }

    /// Registers (or returns) a counter family. `name` must end in `_total`; `unit`, when
    /// given, must be the suffix of the name without `_total` (OpenMetrics `# UNIT`).
    /// `limiters` caps the distinct values of the labels they are keyed by.
    public func counter(_ name: String, help: String, labelNames: [String] = [], unit: String? = nil,
                        limiters: [String: LabelValueLimiter] = [:]) -> CounterFamily {
        let descriptor = MetricDescriptor(name: name, help: help, type: .counter, unit: unit, labelNames: labelNames)
        return register(descriptor, buckets: nil) {
            CounterFamily(descriptor: descriptor, limiters: limiters, clock: clock)
        }
    }

    /// Registers (or returns) a gauge family.
    public func gauge(_ name: String, help: String, labelNames: [String] = [], unit: String? = nil,
                      limiters: [String: LabelValueLimiter] = [:]) -> GaugeFamily {
        let descriptor = MetricDescriptor(name: name, help: help, type: .gauge, unit: unit, labelNames: labelNames)
        return register(descriptor, buckets: nil) {
            GaugeFamily(descriptor: descriptor, limiters: limiters)
        }
    }

    /// Registers (or returns) a histogram family whose series all share `buckets`.
    public func histogram(_ name: String, help: String, labelNames: [String] = [], buckets: HistogramBuckets,
                          unit: String? = nil, limiters: [String: LabelValueLimiter] = [:]) -> HistogramFamily {
        let descriptor = MetricDescriptor(name: name, help: help, type: .histogram, unit: unit, labelNames: labelNames)
        return register(descriptor, buckets: buckets) {
            HistogramFamily(descriptor: descriptor, buckets: buckets, limiters: limiters, clock: clock)
        }
    }

    /// Registers an unlabelled gauge whose value `body` computes at each scrape. `body` runs
    /// on the scraping thread while the exposition is built, so it must be quick.
    public func gaugeFunction(_ name: String, help: String, unit: String? = nil,
                              _ body: @escaping @Sendable () -> Double) {
        let descriptor = MetricDescriptor(name: name, help: help, type: .gauge, unit: unit, labelNames: [])
        _ = register(descriptor, buckets: nil) { FunctionFamily(descriptor: descriptor, body: body) }
    }

    /// Registers an unlabelled counter whose total `body` reads at each scrape (a total kept
    /// elsewhere, such as the process's CPU time). No `_created` sample is exposed for it.
    public func counterFunction(_ name: String, help: String, unit: String? = nil,
                                _ body: @escaping @Sendable () -> Double) {
        let descriptor = MetricDescriptor(name: name, help: help, type: .counter, unit: unit, labelNames: [])
        _ = register(descriptor, buckets: nil) { FunctionFamily(descriptor: descriptor, body: body) }
    }

    /// The names of the registered families, in exposition order.
    public var familyNames: [String] {
        state.withLock { $0.sorted.map(\.descriptor.name) }
    }

    /// Renders every family in `format`; the bytes of one `/metrics` response body.
    public func render(_ format: ExpositionFormat) -> [UInt8] {
        let families = state.withLock { $0.sorted }
        var encoder = ExpositionEncoder(format: format, capacity: lastRenderSize.load(ordering: .relaxed) + 1024)
        for family in families { family.write(to: &encoder) }
        encoder.finish()
        lastRenderSize.store(encoder.bytes.count, ordering: .relaxed)
        return encoder.bytes
    }

    /// `render(format)` as a string, for tests and the console.
    public func renderString(_ format: ExpositionFormat) -> String {
        String(decoding: render(format), as: UTF8.self)
    }

    private func register<Family: ExposedFamily>(_ descriptor: MetricDescriptor, buckets: HistogramBuckets?,
                                                 make: () -> Family) -> Family {
        state.withLock { state in
            if let existing = state.families[descriptor.name] {
                guard let family = existing as? Family, family.matches(descriptor, buckets: buckets) else {
                    preconditionFailure("metric \(descriptor.name) is already registered with different metadata")
                }
                return family
            }
            for claimed in descriptor.claimedNames {
                if let owner = state.claimedNames[claimed] {
                    preconditionFailure("metric \(descriptor.name) would expose \(claimed), already used by \(owner)")
                }
            }
            let family = make()
            state.families[descriptor.name] = family
            for claimed in descriptor.claimedNames { state.claimedNames[claimed] = descriptor.name }
            let position = state.sorted.partitioningIndex { descriptor.name < $0.descriptor.name }
            state.sorted.insert(family, at: position)
            return family
        }
    }
}
