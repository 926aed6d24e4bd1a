/// UTC calendar arithmetic on epoch milliseconds (Howard Hinnant's days-from-civil and
/// civil-from-days), the one place dates are computed: Kie's date strings read
/// (`KieWire.parseDateTime`), the family writers' and the simulator's written
/// (`WireShape.dateTimeText`), the console's timestamps. Floor division, so times before 1970
/// fall on the right day.
public enum CivilTime {
    public struct Fields: Sendable, Equatable {
        public var year, month, day, hour, minute, second, millisecond: Int64
    }

    /// The UTC calendar fields of `millis` (any value: days stay far from overflow).
    public static func fields(_ millis: EpochMillis) -> Fields {
        let days = floorDiv(millis, 86_400_000)
        let rest = millis - days * 86_400_000
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return Fields(
            year: yoe + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day, hour: rest / 3_600_000,
            minute: rest / 60_000 % 60, second: rest / 1_000 % 60, millisecond: rest % 1_000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `n` with at least `width` digits.
    public static func padded(_ n: Int64, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
