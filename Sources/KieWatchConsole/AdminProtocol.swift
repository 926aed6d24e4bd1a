/// The admin socket protocol between `kiewatch console` and the agent: one definition that
/// both sides use, so the framing cannot drift.
///
/// **Transport.** A Unix domain stream socket (`--admin-socket`, default `./kiewatch.sock`).
///
/// **Requests.** The client writes UTF-8 lines terminated by `\n` (a `\r` before it is
/// ignored), each at most `maxRequestBytes`. Every line is one request and gets exactly one
/// answer, in order. A request is a console command as the user typed it (`status`,
/// `models 24h`, `sql SELECT ...`) or a session directive, which starts with `.`:
///
///     .format table|json   output format of the following commands on this connection
///     .color on|off        whether tables may use ANSI colour (the client decides, from its stdout)
///     .width N|none        width the tables should fit, 20...1000 (the client's terminal);
///                          none: no limit, nothing shortened (the client's stdout is a pipe or a file)
///
/// Directives are answered with an empty `ok`, or an `error` carrying the reason. Session
/// directives rather than a `--json` argument on each command, because the format belongs
/// to the console session (its `--json` flag), commands travel exactly as typed, and the
/// renderer on the agent also needs the client's width and colour choice, which no command
/// argument would carry. Defaults: `table`, no colour, width 80.
///
/// **Answers.** Zero or more content lines, each terminated by `\n`, then the end line
/// `\u{1E}END ok\n` or `\u{1E}END error\n`. 0x1E (ASCII record separator) does not occur in
/// console text; a content line that starts with it anyway is sent with one more 0x1E in
/// front, which the reader removes. So a line that starts with exactly one 0x1E is always the
/// end marker, whatever the content. An `error` answer's content is the message for the user.
/// Content may be written as it is produced; a client cancels by closing the connection, and
/// the server then stops writing (it sees `EPIPE`/`ECONNRESET`; send with `MSG_NOSIGNAL`).
public enum AdminProtocol {
    public static let recordSeparator: UInt8 = 0x1E
    /// Longest request line; `sql` statements are the long ones.
    public static let maxRequestBytes = 64 * 1024
    /// Longest answer line the client accepts (a `--json` answer is one line).
    public static let maxAnswerLineBytes = 16 << 20
    public static let defaultSocketPath = "./kiewatch.sock"

    public enum Status: String, Sendable, Equatable {
        case ok, error
    }

    public enum OutputFormat: String, Sendable, Equatable {
        case table, json
    }

    public enum Directive: Sendable, Equatable {
        case format(OutputFormat)
        case color(Bool)
        /// nil: no limit.
        case width(Int?)

        /// The request line for this directive.
        public var line: String {
            switch self {
            case .format(let format): return ".format \(format.rawValue)"
            case .color(let on): return ".color \(on ? "on" : "off")"
            case .width(let columns?): return ".width \(columns)"
            case .width(nil): return ".width none"
            }
        }
    }

    public enum Request: Sendable, Equatable {
        /// A console command; an empty string for a blank line (answer: empty `ok`).
        case command(String)
        case directive(Directive)
        /// A line starting with `.` that is not a valid directive; answer `error` with this text.
        case invalid(String)
    }

    /// What the directives of one connection have set; the server renders with these.
    public struct SessionOptions: Sendable, Equatable {
        public static let widthRange = 20...1_000

        public var format: OutputFormat
        public var color: Bool
        /// The width tables are fitted to; nil when there is none (output to a pipe or a file).
        public var width: Int?

        public init(format: OutputFormat = .table, color: Bool = false, width: Int? = 80) {
            self.format = format
            self.color = color
            self.width = width.map { min(max($0, Self.widthRange.lowerBound), Self.widthRange.upperBound) }
        }

        public mutating func apply(_ directive: Directive) {
            switch directive {
            case .format(let format): self.format = format
            case .color(let on): color = on
            case .width(let columns): width = columns
            }
        }

        /// The directives a client sends so that a fresh session matches these options;
        /// defaults are not sent.
        public var directives: [Directive] {
            let defaults = SessionOptions()
            var result: [Directive] = []
            if format != defaults.format { result.append(.format(format)) }
            if color != defaults.color { result.append(.color(color)) }
            if width != defaults.width { result.append(.width(width)) }
            return result
        }
    }

    // MARK: - Requests

    /// The bytes for one request line. Line breaks inside `text` become spaces: a request
    /// is one line by definition, and a stray newline must not turn into a second command.
    public static func encodeRequest(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8).map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Interprets one request line (without its `\n`, as `LineBuffer` returns it).
    public static func parseRequest(_ line: some Collection<UInt8>) -> Request {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        guard text.hasPrefix(".") else { return .command(text) }
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch (words.first, words.count) {
        case (".format", 2):
            guard let format = OutputFormat(rawValue: words[1]) else {
                return .invalid("unknown format '\(words[1])' (use table or json)")
            }
            return .directive(.format(format))
        case (".color", 2):
            switch words[1] {
            case "on": return .directive(.color(true))
            case "off": return .directive(.color(false))
            default: return .invalid("'.color' takes on or off")
            }
        case (".width", 2):
            if words[1] == "none" { return .directive(.width(nil)) }
            guard let columns = Int(words[1]), SessionOptions.widthRange.contains(columns) else {
                return .invalid("'.width' takes a number of columns from 20 to 1000, or none")
            }
            return .directive(.width(columns))
        default:
            return .invalid("unknown directive '\(words.first ?? text)' (known: .format, .color, .width)")
        }
    }

    // MARK: - Answers

    /// A whole answer: `output` split into lines (a trailing newline does not add an empty
    /// line), each escaped if needed, then the end marker.
    public static func frame(output: String, status: Status) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(output.utf8.count + 16)
        var lines = output.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        for line in lines { appendLine(line, to: &bytes) }
        bytes += endMarker(status)
        return bytes
    }

    /// One content line, for a server that streams its answer (e.g. rows as they are read).
    public static func frameLine(_ line: some StringProtocol) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in line.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            appendLine(part, to: &bytes)
        }
        return bytes
    }

    /// The line that ends an answer.
    public static func endMarker(_ status: Status) -> [UInt8] {
        [recordSeparator] + Array("END \(status.rawValue)\n".utf8)
    }

    private static func appendLine(_ line: some Collection<UInt8>, to bytes: inout [UInt8]) {
        if line.first == recordSeparator { bytes.append(recordSeparator) }
        bytes += line
        bytes.append(UInt8(ascii: "\n"))
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
