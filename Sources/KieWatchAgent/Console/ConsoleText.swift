import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// The small text shapes every command shares, on top of `HumanFormat` and `TableRenderer`:
/// label/value blocks, headings, optional values, and the JSON spellings of the same facts.
///
/// Anything that came from the network (model names, error messages, URLs) passes through
/// `clean` before it is printed, so stored text can neither move the cursor nor leak a
/// secret: control characters become spaces and URLs are redacted.
enum ConsoleText {
    /// `label  value` lines with the values aligned; labels are ours, values are cleaned.
    static func block(_ pairs: [(String, String)]) -> String {
        let width = pairs.map { $0.0.count }.max() ?? 0
        return pairs.map { label, value in
            let line = label + String(repeating: " ", count: width - label.count + 2) + clean(value)
            return line.trimmingTrailingSpaces
        }.joined(separator: "\n")
    }

    /// Control characters (ESC included) become spaces: stored text never drives the terminal.
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? " " : $0 }))
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
    }

    /// A URL, or free text that may hold one (an upstream error message), fit for output:
    /// secret-looking query values redacted, control characters removed.
    static func url(_ url: String?) -> String {
        guard let url else { return "-" }
        return clean(URLRedaction.redact(url))
    }

    static func duration(_ ms: Int64?) -> String {
        ms.map { HumanFormat.duration(ms: $0) } ?? "-"
    }

    /// A percentile from rollup buckets (microseconds) as a human duration.
    static func percentile(_ q: Double, _ buckets: [UInt64]) -> String {
        percentileMillis(q, buckets).map { HumanFormat.duration(ms: $0) } ?? "-"
    }

    /// A percentile in whole milliseconds (truncated, as `HumanFormat` does).
    static func percentileMillis(_ q: Double, _ buckets: [UInt64]) -> Int64? {
        LatencyBuckets.percentile(q, counts: buckets).map { Int64($0 / 1_000) }
    }

    static func age(_ ts: EpochMillis?, now: EpochMillis) -> String {
        ts.map { HumanFormat.age(of: $0, now: now) } ?? "-"
    }

    static func timestamp(_ ts: EpochMillis?) -> String {
        ts.map { HumanFormat.timestamp(ms: $0) } ?? "-"
    }

    /// `part/total` as `JSON` ratio (nil when total is 0).
    static func ratio(_ part: Int64, _ total: Int64) -> JSONValue {
        guard total > 0 else { return .null }
        return .double((Double(part) / Double(total) * 10_000).rounded() / 10_000)
    }

    /// A failure share's tone: red from 10 %, yellow from 2 %.
    static func failureTone(_ part: Int64, _ total: Int64) -> TableRenderer.Tone {
        guard total > 0, part > 0 else { return .plain }
        let share = Double(part) / Double(total)
        return share >= 0.10 ? .bad : share >= 0.02 ? .warning : .plain
    }

    static func stateTone(_ state: TaskState) -> TableRenderer.Tone {
        switch state {
        case .success: return .good
        case .fail: return .bad
        default: return .plain
        }
    }

    /// `"12 rows"` / `"1 row"`.
    static func plural(_ count: Int64, _ noun: String) -> String {
        "\(HumanFormat.count(count)) \(noun)\(count == 1 ? "" : "s")"
    }

    /// The window as the engineer typed it, normalised (`1h`, `24h`, `15m`).
    /// Whole hours up to three days stay in hours (`24h`, as people type it), else the
    /// shortest exact form (`15m`, `7d`, `1h30m`).
    static func window(_ ms: Int64) -> String {
        if ms % 3_600_000 == 0, ms <= 72 * 3_600_000 { return "\(ms / 3_600_000)h" }
        return DurationText.format(millis: ms)
    }

    /// Sections separated by one blank line; empty sections dropped.
    static func sections(_ parts: [String]) -> String {
        parts.filter { !$0.isEmpty }.joined(separator: "\n\n")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension JSONValue {
    /// `.int` or `.null`.
    init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    /// `.double` or `.null`.
    init(_ value: Double?) { self = value.map { .double($0) } ?? .null }
}
