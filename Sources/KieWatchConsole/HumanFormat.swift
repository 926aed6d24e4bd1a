import KieWatchCore

/// The human forms of numbers and times used in every console table.
///
/// One place, so that `models`, `tasks` and `status` never show the same quantity two ways.
/// Pure and locale-free (no `DateFormatter`, no `String(format:)`): the output is part of the
/// console contract and is compared byte for byte in tests. Values are truncated, not
/// rounded, for durations (`59.99s` stays `59.9s`, never a surprising `60.0s`).
public enum HumanFormat {
    /// `850ms`, `12.3s`, `4m05s`, `2h13m`, `3d4h`; negative values get a leading `-`.
    public static func duration(ms: Int64) -> String {
        if ms < 0 { return "-" + duration(ms: ms == .min ? .max : -ms) }
        switch ms {
        case ..<1_000:
            return "\(ms)ms"
        case ..<60_000:
            let tenths = ms / 100
            return "\(tenths / 10).\(tenths % 10)s"
        case ..<3_600_000:
            return "\(ms / 60_000)m\(twoDigits((ms / 1_000) % 60))s"
        case ..<86_400_000:
            return "\(ms / 3_600_000)h\(twoDigits((ms / 60_000) % 60))m"
        default:
            return "\(ms / 86_400_000)d\((ms / 3_600_000) % 24)h"
        }
    }

    /// How long ago `timestamp` was, in its largest unit: `just now`, `42s ago`, `3m ago`,
    /// `2h ago`, `5d ago`; a timestamp in the future reads `in 3m`.
    public static func age(of timestamp: Int64, now: Int64) -> String {
        let delta = now - timestamp
        if delta < 0 { return "in " + coarse(-delta) }
        if delta < 1_000 { return "just now" }
        return coarse(delta) + " ago"
    }

    /// `2026-11-21 11:42:30Z`: UTC, second precision, sortable, unambiguous across the team.
    public static func timestamp(ms: Int64) -> String {
        let c = CivilTime.fields(ms)
        return "\(c.year)-\(twoDigits(c.month))-\(twoDigits(c.day)) "
            + "\(twoDigits(c.hour)):\(twoDigits(c.minute)):\(twoDigits(c.second))Z"
    }

    /// `97.5%` from a ratio (0.975), one decimal, rounded; `-` when not a number.
    public static func percent(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "-" }
        return oneDecimal(ratio * 100) + "%"
    }

    /// `part / total` as a percentage; `-` when `total` is 0 (no calls is not 0% failures).
    public static func percent(_ part: Int64, of total: Int64) -> String {
        total == 0 ? "-" : percent(Double(part) / Double(total))
    }

    /// `12,345`: digits grouped by three so counts can be compared at a glance.
    public static func count(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    /// `512 B`, `1.2 KiB`, `1.2 MiB`, ... in powers of 1024, one decimal.
    public static func bytes(_ value: Int64) -> String {
        if value < 0 { return "-" + bytes(value == .min ? .max : -value) }
        if value < 1_024 { return "\(value) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var scaled = Double(value) / 1_024
        var unit = 0
        // Move up while the rounded value would print as 1024.0 or more.
        while (scaled * 10).rounded() >= 10_240, unit < units.count - 1 {
            scaled /= 1_024
            unit += 1
        }
        return oneDecimal(scaled) + " " + units[unit]
    }

    // MARK: - Helpers

    private static func coarse(_ ms: Int64) -> String {
        switch ms {
        case ..<60_000: return "\(ms / 1_000)s"
        case ..<3_600_000: return "\(ms / 60_000)m"
        case ..<86_400_000: return "\(ms / 3_600_000)h"
        default: return "\(ms / 86_400_000)d"
        }
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    private static func oneDecimal(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.magnitude < 9e17 else { return "\(value)" }
        let whole = Int64(tenths)
        let sign = whole < 0 ? "-" : ""
        return "\(sign)\(whole.magnitude / 10).\(whole.magnitude % 10)"
    }
}
