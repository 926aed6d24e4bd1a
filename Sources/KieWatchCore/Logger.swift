#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Structured logs on stderr, one logfmt line per event:
/// `ts=2026-11-21T11:42:30.123Z level=info event=webhook.accepted task=abc model=veo3`.
///
/// Every value is redacted here (`URLRedaction`: user info and secret-named query values,
/// wherever a URL sits in the value), so a call site that logs an error quoting a URL cannot
/// leak the password in it. Callers still pass nothing else secret (keys, bodies).
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warn, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warn: "warn"
            case .error: "error"
            }
        }
    }

    public let minimum: Level
    let clock: any WallClock
    let sink: @Sendable (String) -> Void

    public init(minimum: Level = .info, clock: any WallClock = SystemClock(), sink: (@Sendable (String) -> Void)? = nil) {
        self.minimum = minimum
        self.clock = clock
        self.sink = sink ?? Logger.writeToStderr
    }

    /// A logger that drops everything (tests, benchmarks).
    public static let silent = Logger(minimum: .error, sink: { _ in })

    public func debug(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.debug, event, fields) }
    public func info(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.info, event, fields) }
    public func warn(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.warn, event, fields) }
    public func error(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.error, event, fields) }

    public func log(_ level: Level, _ event: String, _ fields: KeyValuePairs<String, String>) {
        guard level >= minimum else { return }
        var line = "ts=\(Logger.iso8601(clock.now())) level=\(level.name) event=\(Logger.quote(event))"
        for (key, value) in fields { line += " \(key)=\(Logger.quote(URLRedaction.redact(value)))" }
        sink(line)
    }

    /// Values with spaces, quotes, `=` or control characters are quoted and escaped.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
        }
        guard needsQuotes else { return value }
        var out = "\""
        for s in value.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if s.value < 0x20 || s.value == 0x7F { out += "\\u{\(String(s.value, radix: 16))}" } else { out.unicodeScalars.append(s) }
            }
        }
        return out + "\""
    }

    /// `2026-11-21T11:42:30.123Z`.
    public static func iso8601(_ ms: EpochMillis) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civilFromDays(days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = msOfDay % 1000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(y)-\(two(m))-\(two(d))T\(two(msOfDay / 3_600_000)):\(two(msOfDay / 60_000 % 60)):\(two(msOfDay / 1000 % 60)).\(millisText)Z"
    }

    /// (year, month, day) for days since 1970-01-01 (Howard Hinnant's algorithm).
    public static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Whole lines with one write(2), so concurrent loggers never interleave inside a line.
    @Sendable static func writeToStderr(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}

/// Writes one line to stderr (command-line errors), redacted as log values are: the error
/// may quote a flag's URL, user info and all.
public func printError(_ message: String) {
    Logger.writeToStderr(URLRedaction.redact(message))
}
