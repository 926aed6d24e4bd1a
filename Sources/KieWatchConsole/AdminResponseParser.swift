/// Reads answers framed by `AdminProtocol` from a byte stream, however the bytes are split.
///
/// Incremental, so the console can print lines as the agent produces them (`watch`, long
/// `sql` results) and so that a connection that ends early is noticed precisely: `isMidAnswer`
/// tells "the agent died while answering" from "the agent closed an idle connection".
public struct AdminResponseParser: Sendable {
    public enum Event: Sendable, Equatable {
        /// One content line, unescaped, without its `\n`.
        case line(String)
        /// The end of an answer.
        case end(AdminProtocol.Status)
    }

    private var buffer: LineBuffer
    public private(set) var isMidAnswer = false

    public init(maxLineBytes: Int = AdminProtocol.maxAnswerLineBytes) {
        buffer = LineBuffer(maxLineBytes: maxLineBytes)
    }

    /// The events completed by `bytes`. Throws `.protocolViolation` for a line that starts
    /// with a single 0x1E but is not an end marker, or for an over-long line.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(ConsoleError) -> [Event] {
        buffer.append(bytes)
        var events: [Event] = []
        while let line = try buffer.nextLine() {
            isMidAnswer = true
            guard line.first == AdminProtocol.recordSeparator else {
                events.append(.line(String(decoding: line, as: UTF8.self)))
                continue
            }
            if line.count > 1, line[1] == AdminProtocol.recordSeparator {
                events.append(.line(String(decoding: line.dropFirst(), as: UTF8.self)))
                continue
            }
            switch String(decoding: line.dropFirst(), as: UTF8.self) {
            case "END ok": events.append(.end(.ok))
            case "END error": events.append(.end(.error))
            default:
                throw ConsoleError(.protocolViolation, "the agent sent an unknown control line; are the console and agent the same version?")
            }
            isMidAnswer = false
        }
        if buffer.hasPartialLine { isMidAnswer = true }
        return events
    }
}
