/// One answer from the agent, as the console received it.
public struct AdminResponse: Sendable, Equatable {
    public var status: AdminProtocol.Status
    /// Content lines; empty when they were handed to a streaming callback instead.
    public var lines: [String]
    /// True when the caller stopped reading before the end marker (its callback returned false).
    public var wasCancelled: Bool

    public init(status: AdminProtocol.Status, lines: [String], wasCancelled: Bool = false) {
        self.status = status
        self.lines = lines
        self.wasCancelled = wasCancelled
    }

    /// The content as text, lines joined by `\n`, no trailing newline.
    public var text: String { lines.joined(separator: "\n") }
}
