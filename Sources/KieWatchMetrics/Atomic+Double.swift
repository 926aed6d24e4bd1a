import Synchronization

/// A `Double` kept as its bit pattern in an `Atomic<UInt64>`: the standard library has no
/// atomic floating-point add, so adds are compare-exchange loops. Relaxed ordering suffices:
/// each metric value is independent and a scrape needs no ordering with other memory.
extension Atomic where Value == UInt64 {
    func loadDouble() -> Double {
        Double(bitPattern: load(ordering: .relaxed))
    }

    func storeDouble(_ value: Double) {
        store(value.bitPattern, ordering: .relaxed)
    }

    func addDouble(_ amount: Double) {
        var current = load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
