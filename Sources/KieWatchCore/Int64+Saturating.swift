/// Arithmetic that clamps to `Int64.min...Int64.max` instead of trapping.
///
/// For sums and differences where one side came from outside (a header, a JSON field, a
/// stored row, a config value): Swift's `+`, `-` and `*` trap on overflow, and a trap
/// reachable from a request is a remote kill switch. A clamped result is still far outside
/// any window it is compared with, so checks built on it fail closed.
extension Int64 {
    /// `self + other`, clamped.
    @inlinable
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, clamped.
    @inlinable
    public func saturatingSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self * other`, clamped.
    @inlinable
    public func saturatingMultiplied(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}
