/// What the line editor tells its caller, besides the bytes to draw.
public enum EditorEvent: Equatable, Sendable {
    /// Enter: the finished line (already added to the history).
    case line(String)
    /// Ctrl-D on an empty line: the user wants to leave.
    case eof
    /// Ctrl-C: the line was abandoned and a fresh prompt drawn; editing continues.
    case interrupt
    /// Ctrl-L: the screen was cleared and the line redrawn; editing continues.
    case clearScreen
}

/// The result of feeding bytes to `LineEditorCore`: what to write to the terminal, then
/// what happened. Bytes come first because they must reach the screen before the caller
/// acts on a `.line`.
public struct EditorOutput: Equatable, Sendable {
    public var bytes: [UInt8]
    public var events: [EditorEvent]

    public init(bytes: [UInt8] = [], events: [EditorEvent] = []) {
        self.bytes = bytes
        self.events = events
    }
}
