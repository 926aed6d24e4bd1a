import Synchronization

/// Bounds how many distinct values a label may take, folding the rest into one value.
///
/// Every distinct label value is a new time series in Prometheus, so a label fed from the
/// outside (a model id sent by the app) must be capped: the first `limit` distinct values
/// are kept, later ones become `overflowValue`. Share one limiter between the families that
/// carry the same label (every `model` label) so they all keep the same values. `reserved`
/// values (a placeholder such as `unknown` for calls that name no model) are always kept and,
/// like the overflow value, never use a slot: otherwise the cap would keep one model fewer.
public final class LabelValueLimiter: Sendable {
    /// The default cap on distinct values, from the metrics contract (`model`: 64).
    public static let defaultLimit = 64

    public let limit: Int
    public let overflowValue: String
    public let reserved: Set<String>
    private let admitted = Mutex<Set<String>>([])

    public init(limit: Int = LabelValueLimiter.defaultLimit, overflowValue: String = "other", reserved: Set<String> = []) {
        precondition(limit >= 0, "limit must not be negative")
        self.limit = limit
        self.overflowValue = overflowValue
        self.reserved = reserved
    }

    /// The value to use as the label: `value` itself if it is admitted (or fits under the
    /// cap, which admits it), `overflowValue` otherwise. The overflow and reserved values never use a slot.
    public func fold(_ value: String) -> String {
        if value == overflowValue || reserved.contains(value) { return value }
        return admitted.withLock { admitted in
            if admitted.contains(value) { return value }
            guard admitted.count < limit else { return overflowValue }
            admitted.insert(value)
            return value
        }
    }

    /// The admitted values, sorted; for diagnostics and tests.
    public var admittedValues: [String] {
        admitted.withLock { $0.sorted() }
    }
}
