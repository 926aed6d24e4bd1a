import Synchronization

/// The series of one family, keyed by label values, kept in a stable order.
///
/// Creating a series takes the lock; the handle it returns is then updated lock-free by
/// its owner. Entries stay sorted by label values so every scrape lists them in the same
/// order, and a scrape only copies the array (a reference-count bump) under the lock.
final class SeriesTable<Series: LabelledSeries>: Sendable {
    private struct State: ~Copyable {
        var byLabelValues: [[String]: Series] = [:]
        var ordered: [Series] = []
    }

    let labelNames: [String]
    /// Per label position, the limiter that folds excess values (nil: unbounded).
    private let limiters: [LabelValueLimiter?]
    private let state = Mutex(State())

    init(familyName: String, labelNames: [String], limiters: [String: LabelValueLimiter]) {
        for label in limiters.keys {
            precondition(labelNames.contains(label), "\(familyName): limiter for unknown label \"\(label)\"")
        }
        self.labelNames = labelNames
        self.limiters = labelNames.map { limiters[$0] }
    }

    /// The series for these label values, created with `make` the first time.
    ///
    /// Values a limiter has already admitted are found on the first lookup; a new value goes
    /// through the limiter (which may fold it into its overflow value) before the second.
    func series(for labelValues: [String], make: ([String]) -> Series) -> Series {
        precondition(labelValues.count == labelNames.count,
                     "expected \(labelNames.count) label values \(labelNames), got \(labelValues.count)")
        if let existing = state.withLock({ $0.byLabelValues[labelValues] }) { return existing }
        var folded = labelValues
        for (index, limiter) in limiters.enumerated() {
            if let limiter { folded[index] = limiter.fold(folded[index]) }
        }
        return state.withLock { state in
            if let existing = state.byLabelValues[folded] { return existing }
            let series = make(folded)
            state.byLabelValues[folded] = series
            let position = state.ordered.partitioningIndex { folded.lexicographicallyPrecedes($0.labelValues) }
            state.ordered.insert(series, at: position)
            return series
        }
    }

    /// The series in label-value order, for one scrape.
    func snapshot() -> [Series] {
        state.withLock { $0.ordered }
    }

    var count: Int { state.withLock { $0.ordered.count } }
}

/// A series handle as the table sees it: a class that knows its label values.
protocol LabelledSeries: AnyObject, Sendable {
    var labelValues: [String] { get }
}

extension Array {
    /// The first index whose element satisfies `belongs` (which must be false then true).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
