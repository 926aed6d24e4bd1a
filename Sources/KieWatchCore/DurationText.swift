/// Durations as people write them in flags and config: `500ms`, `30s`, `15m`, `2h`, `14d`,
/// and combinations such as `1h30m`.
public enum DurationText {
    /// The longest duration accepted: 36500d (about 100 years). Longer than any retention,
    /// deadline or pause anyone means, and short enough that every accepted duration still
    /// fits in Int64 nanoseconds and can be added to any plausible time without overflow, so
    /// no caller needs its own range check.
    public static let maxMillis: Int64 = 36_500 * 86_400_000

    /// Milliseconds for `text`, or nil when it is not a duration or is longer than `maxMillis`
    /// (however it is written: one huge number, or many parts that add up).
    public static func parseMillis(_ text: String) -> Int64? {
        if case .millis(let ms) = read(text) { return ms }
        return nil
    }

    /// Like `parseMillis`, throwing a one-line error that names `name`.
    public static func parse(_ text: String, for name: String) throws(ConfigError) -> Int64 {
        switch read(text) {
        case .millis(let ms):
            return ms
        case .tooLong:
            throw ConfigError("\(name): a duration can be at most \(format(millis: maxMillis))")
        case .invalid:
            throw ConfigError("\(name): expected a duration such as 500ms, 30s, 15m, 2h or 14d, got '\(text)'")
        }
    }

    /// What a text says as a duration.
    public enum Reading: Sendable, Equatable {
        case millis(Int64)
        /// Well formed, but longer than `maxMillis`.
        case tooLong
        /// Not a duration.
        case invalid
    }

    /// Reads `text` as a duration, telling a duration that is too long from one that is not a
    /// duration at all (for errors that say which).
    public static func read(_ text: String) -> Reading {
        let s = text.trimmingSpaces.lowercased()
        guard !s.isEmpty else { return .invalid }
        var total: Int64 = 0
        var tooLong = false
        var number = ""
        var i = s.startIndex
        var sawUnit = false
        while i < s.endIndex {
            let c = s[i]
            if c.isASCII, c.isNumber || c == "." {
                number.append(c)
                i = s.index(after: i)
                continue
            }
            var unit = ""
            while i < s.endIndex, s[i].isLetter {
                unit.append(s[i])
                i = s.index(after: i)
            }
            guard let value = Double(number), value >= 0 else { return .invalid }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return .invalid
            }
            // Checked in Double before converting (Int64(_:) traps beyond its range), and the
            // sum checked at every part: a modest part repeated a thousand times must not
            // overflow either. The rest is still read, so that garbage says so.
            let part = (value * factor).rounded()
            if !tooLong, part.isFinite, part <= Double(maxMillis), total + Int64(part) <= maxMillis {
                total += Int64(part)
            } else {
                tooLong = true
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return .invalid }
        return tooLong ? .tooLong : .millis(total)
    }

    /// The shortest exact form: `1500ms`, `30s`, `15m`, `2h`, `14d`, or combined (`1h30m`).
    public static func format(millis: Int64) -> String {
        if millis == 0 { return "0s" }
        if millis % 1000 != 0 { return "\(millis)ms" }
        var rest = millis / 1000
        var out = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
