#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import KieWatchConsole

struct InteractiveReaderTests {
    @Test func plainLinesWhenStdinIsAPipe() {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        defer { close(fds[0]) }
        writeBytes(fds[1], Array("status\r\nmodels 24h\n\u{1B}[A\nlast".utf8))
        close(fds[1])
        let reader = InteractiveReader(historyPath: nil, input: fds[0], output: STDOUT_FILENO)
        #expect(!reader.isInteractive)
        #expect(reader.readLine() == "status")
        #expect(reader.readLine() == "models 24h")
        #expect(reader.readLine() == "\u{1B}[A")  // no editing: bytes are passed as they are
        #expect(reader.readLine() == "last")
        #expect(reader.readLine() == nil)
        #expect(reader.readLine() == nil)
    }
}

/// The interactive path on a real pseudo-terminal; serialized with the other raw-mode tests
/// because raw mode is process-wide.
extension TerminalTests {
    @Test func interactiveReaderEditsOnATerminalAndRestoresIt() {
        let pty = PseudoTerminal()
        defer { pty.close() }
        // Type-ahead written while the pty is still canonical would be line-edited by the
        // kernel (Ctrl-C flushes it, `\r` becomes `\n`) before the reader switches to raw
        // mode, and when that happens depends on a kernel worker. So the "cooked" state here
        // is already non-canonical; OPOST stays on, which raw mode must turn off and restore.
        var cooked = pty.attributes()
        cooked.c_lflag &= ~tcflag_t(ICANON | ISIG | ECHO | IEXTEN)
        cooked.c_iflag &= ~tcflag_t(ICRNL | IXON)
        cooked.c_oflag |= tcflag_t(OPOST)
        tcsetattr(pty.slave, TCSANOW, &cooked)
        let before = TerminalFlags(pty.attributes())
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let historyPath = directory.file("history")

        let reader = InteractiveReader(prompt: "kw> ", historyPath: historyPath, input: pty.slave, output: pty.slave)
        #expect(reader.isInteractive)
        // typed ahead: a line with an edit, an interrupted line, then Ctrl-D
        writeBytes(pty.master, Array("stat".utf8) + [0x1B, 0x5B, 0x44] + Array("u\rjunk".utf8) + [0x03] + Array("models\r".utf8) + [0x04])
        #expect(reader.readLine() == "staut")
        #expect(TerminalFlags(pty.attributes()) == before)  // cooked again between lines
        #expect(reader.readLine() == "models")
        #expect(reader.readLine() == nil)
        #expect(TerminalFlags(pty.attributes()) == before)

        let screen = String(decoding: readAvailable(pty.master), as: UTF8.self)
        #expect(screen.contains("kw> staut"))
        #expect(screen.contains("^C\r\n"))
        #expect(History.load(from: historyPath).entries == ["staut", "models"])
    }
}
