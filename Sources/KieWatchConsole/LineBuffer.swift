/// Accumulates bytes from reads and hands out complete `\n`-terminated lines.
///
/// Shared by everything in the console that reads lines from a descriptor: the admin
/// protocol (both directions) and stdin when it is not a terminal. The bound on a line is
/// what keeps a peer that never sends `\n` from growing the buffer without limit.
public struct LineBuffer: Sendable {
    public let maxLineBytes: Int
    private var storage: [UInt8] = []
    private var start = 0
    /// Where the search for the next `\n` resumes, so each byte is scanned once.
    private var scanned = 0

    public init(maxLineBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= storage.count / 2 {
            storage.removeFirst(start)
            scanned -= start
            start = 0
        }
        storage.append(contentsOf: bytes)
    }

    /// The next complete line without its `\n`, nil if none is complete yet; throws
    /// `.protocolViolation` when more than `maxLineBytes` arrive without a `\n`.
    public mutating func nextLine() throws(ConsoleError) -> [UInt8]? {
        while scanned < storage.count {
            if storage[scanned] == UInt8(ascii: "\n") {
                let line = Array(storage[start..<scanned])
                scanned += 1
                start = scanned
                return line
            }
            scanned += 1
            if scanned - start > maxLineBytes {
                throw ConsoleError(.protocolViolation, "line longer than \(maxLineBytes) bytes")
            }
        }
        return nil
    }

    /// Bytes received after the last complete line (an unterminated last line at EOF).
    public var remainder: [UInt8] { Array(storage[start...]) }

    /// Whether bytes of an unfinished line are buffered.
    public var hasPartialLine: Bool { start < storage.count }

    /// Forgets everything buffered.
    public mutating func removeAll() {
        storage = []
        start = 0
        scanned = 0
    }
}
