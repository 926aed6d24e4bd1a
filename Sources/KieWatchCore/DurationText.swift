/// Durations as people write them in flags and config: `500ms`, `30s`, `15m`, `2h`, `14d`,
/// and combinations such as `1h30m`.
public enum DurationText {
    /// Milliseconds for `text`, or nil when it is not a duration.
    public static func parseMillis(_ text: String) -> Int64? {
        let s = text.trimmingSpaces.lowercased()
        guard !s.isEmpty else { return nil }
        var total: Int64 = 0
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
            guard let value = Double(number), value >= 0 else { return nil }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return nil
            }
            let part = value * factor
            guard part.isFinite, part < 9e15 else { return nil }
            total += Int64(part.rounded())
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }

    /// Like `parseMillis`, throwing a one-line error that names `name`.
    public static func parse(_ text: String, for name: String) throws(ConfigError) -> Int64 {
        guard let ms = parseMillis(text) else {
            throw ConfigError("\(name): expected a duration such as 500ms, 30s, 15m, 2h or 14d, got '\(text)'")
        }
        return ms
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
