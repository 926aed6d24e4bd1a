#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import KieWatchConsole

/// Raw mode is process-wide state (one set of signal handlers), so these run one at a time.
@Suite(.serialized)
struct TerminalTests {
    struct Boom: Error {}

    @Test func rawModeIsEnteredAndRestored() throws {
        let pty = PseudoTerminal()
        defer { pty.close() }
        let before = TerminalFlags(pty.attributes())
        #expect(before.local & tcflag_t(ECHO | ICANON) != 0)

        let terminal = Terminal(input: pty.slave, output: pty.slave)
        #expect(terminal.isInteractive)
        try terminal.enableRawMode()
        let raw = TerminalFlags(pty.attributes())
        #expect(raw.local & tcflag_t(ECHO | ICANON | ISIG | IEXTEN) == 0)
        #expect(raw.input & tcflag_t(ICRNL | IXON) == 0)
        #expect(raw.output & tcflag_t(OPOST) == 0)
        #expect(raw.vmin == 1 && raw.vtime == 0)
        #expect(terminal.isRaw)

        terminal.restore()
        #expect(TerminalFlags(pty.attributes()) == before)
        #expect(!terminal.isRaw)
        terminal.restore()  // idempotent
        #expect(TerminalFlags(pty.attributes()) == before)
    }

    @Test func restoredWhenTheBodyThrows() {
        let pty = PseudoTerminal()
        defer { pty.close() }
        let before = TerminalFlags(pty.attributes())
        let terminal = Terminal(input: pty.slave, output: pty.slave)
        #expect(throws: Boom.self) {
            try terminal.withRawMode {
                #expect(TerminalFlags(pty.attributes()) != before)
                throw Boom()
            }
        }
        #expect(TerminalFlags(pty.attributes()) == before)
    }

    @Test func restoredWhenTheTerminalIsDropped() throws {
        let pty = PseudoTerminal()
        defer { pty.close() }
        let before = TerminalFlags(pty.attributes())
        do {
            let terminal = Terminal(input: pty.slave, output: pty.slave)
            try terminal.enableRawMode()
            #expect(TerminalFlags(pty.attributes()) != before)
        }
        #expect(TerminalFlags(pty.attributes()) == before)
    }

    @Test func signalHandlersAreInstalledOnlyWhileRaw() throws {
        let pty = PseudoTerminal()
        defer { pty.close() }
        let before = TerminalFlags(pty.attributes())
        let terminal = Terminal(input: pty.slave, output: pty.slave)
        #expect(!RawModeRegistry.ownsHandler(for: SIGTERM))
        try terminal.enableRawMode()
        for signal in [SIGINT, SIGTERM, SIGHUP] { #expect(RawModeRegistry.ownsHandler(for: signal)) }

        // What the handler does on SIGTERM, minus the re-raise that would end the test run.
        RawModeRegistry.handle(signal: SIGTERM, reraise: false)
        #expect(TerminalFlags(pty.attributes()) == before)
        for signal in [SIGINT, SIGTERM, SIGHUP] { #expect(!RawModeRegistry.ownsHandler(for: signal)) }
        #expect(!terminal.isRaw)
        terminal.restore()  // after a signal: nothing left to do, nothing breaks
        #expect(TerminalFlags(pty.attributes()) == before)
    }

    @Test func onlyOneTerminalIsRawAtATime() throws {
        let first = PseudoTerminal(), second = PseudoTerminal()
        defer { first.close(); second.close() }
        let a = Terminal(input: first.slave, output: first.slave)
        let b = Terminal(input: second.slave, output: second.slave)
        try a.enableRawMode()
        defer { a.restore() }
        #expect(throws: ConsoleError.self) { try b.enableRawMode() }
    }

    @Test func notATerminal() {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        defer { close(fds[0]); close(fds[1]) }
        let terminal = Terminal(input: fds[0], output: fds[1])
        #expect(!terminal.isInteractive)
        #expect(terminal.columns() == nil)
        #expect(throws: ConsoleError.self) { try terminal.enableRawMode() }
        #expect(!RawModeRegistry.isActive)
    }

    @Test func widthComesFromTheTerminal() {
        let pty = PseudoTerminal()
        defer { pty.close() }
        var size = winsize(ws_row: 40, ws_col: 132, ws_xpixel: 0, ws_ypixel: 0)
        _ = withUnsafeMutablePointer(to: &size) { ioctl(pty.slave, UInt(TIOCSWINSZ), $0) }
        #expect(Terminal(input: pty.slave, output: pty.slave).columns() == 132)
    }
}
