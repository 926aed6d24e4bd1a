#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal the console talks to: TTY detection, width, and raw mode that is always
/// undone.
///
/// Raw mode is restored on every way out: `restore()`, `withRawMode` (normal return and
/// thrown errors), `deinit`, and the signals registered by `RawModeRegistry`. Only one
/// terminal per process can be raw at a time, because signal handlers are process-wide.
///
/// Not `Sendable`: one owner (the reader) drives it.
public final class Terminal {
    public let inputFD: Int32
    public let outputFD: Int32
    private var isRawHere = false

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.inputFD = input
        self.outputFD = output
    }

    deinit { restore() }

    public static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Line editing needs both ends: keys from a terminal, and a terminal to draw on.
    public var isInteractive: Bool { Self.isTTY(inputFD) && Self.isTTY(outputFD) }

    /// The width in columns (`TIOCGWINSZ`), or nil when neither descriptor is a terminal or
    /// the terminal reports 0 (some serial consoles and CI pseudo-terminals do).
    public func columns() -> Int? {
        for fd in [outputFD, inputFD] {
            var size = winsize()
            let result = withUnsafeMutablePointer(to: &size) { ioctl(fd, UInt(TIOCGWINSZ), $0) }
            if result == 0, size.ws_col > 0 { return Int(size.ws_col) }
        }
        return nil
    }

    /// Whether this terminal is in raw mode now. Turns false behind our back when a signal
    /// handler restored it.
    public var isRaw: Bool { isRawHere && RawModeRegistry.isActive }

    /// Switches the input terminal to raw mode (no echo, no line buffering, no signals from
    /// keys, no output processing), after saving the current attributes for `restore()`.
    public func enableRawMode() throws(ConsoleError) {
        if isRaw { return }
        var original = termios()
        try retryingEINTR("cannot read terminal attributes", code: .terminal) {
            Int(tcgetattr(inputFD, &original))
        }
        guard RawModeRegistry.register(fd: inputFD, attributes: original) else {
            throw ConsoleError(.terminal, "another terminal is already in raw mode in this process")
        }
        var raw = Self.rawAttributes(from: original)
        do {
            try retryingEINTR("cannot switch the terminal to raw mode", code: .terminal) {
                Int(tcsetattr(inputFD, TCSADRAIN, &raw))
            }
        } catch {
            RawModeRegistry.restore()
            throw error
        }
        isRawHere = true
    }

    /// Puts back the attributes saved by `enableRawMode`; harmless when not raw.
    public func restore() {
        guard isRawHere else { return }
        isRawHere = false
        RawModeRegistry.restore()
    }

    /// Runs `body` in raw mode and restores the terminal however `body` ends.
    public func withRawMode<T>(_ body: () throws -> T) throws -> T {
        try enableRawMode()
        defer { restore() }
        return try body()
    }

    /// The attributes `cfmakeraw` produces, spelled out because `cfmakeraw` is not POSIX:
    /// keys arrive byte by byte unprocessed, nothing is echoed, Ctrl-C is a byte rather than
    /// SIGINT, and output is not translated (the editor writes `\r\n` itself).
    /// `VMIN = 1, VTIME = 0`: `read` blocks until at least one byte is there.
    static func rawAttributes(from original: termios) -> termios {
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON | INLCR | IGNCR | PARMRK)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag &= ~tcflag_t(CSIZE | PARENB)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        return raw
    }
}
