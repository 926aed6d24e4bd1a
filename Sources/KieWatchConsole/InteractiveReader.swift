#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads console commands one line at a time, the same way for a person and for a script.
///
/// When stdin and stdout are terminals: a prompt, line editing, history and completion
/// (`LineEditorCore`), with the terminal in raw mode only while a line is being typed, so
/// command output and Ctrl-C during a long command behave as in any program. Otherwise:
/// plain lines from stdin, no prompt and no escape codes, so `kiewatch console < cmds.txt`
/// output can be diffed.
///
/// ```swift
/// let reader = InteractiveReader(completer: { before in
///     ["status", "models ", "tasks "].filter { $0.hasPrefix(before) }
/// })
/// while let line = reader.readLine() {
///     if line == "quit" { break }
///     print(try client.execute(line).text)
/// }
/// ```
public final class InteractiveReader {
    /// True when lines come from the editor (both ends are terminals).
    public let isInteractive: Bool
    private let terminal: Terminal
    private let historyPath: String?
    private var editor: LineEditorCore
    private var plainInput = LineBuffer(maxLineBytes: 16 << 20)
    private var plainInputEnded = false

    /// - Parameters:
    ///   - historyPath: where history persists; nil keeps it in memory only. Defaults to
    ///     `~/.kiewatch_history`.
    ///   - completer: see `LineEditorCore.init`.
    public init(
        prompt: String = "kiewatch> ",
        historyPath: String? = History.defaultPath(environment: currentEnvironment(["HOME"])),
        completer: @escaping (String) -> [String] = { _ in [] },
        input: Int32 = STDIN_FILENO,
        output: Int32 = STDOUT_FILENO
    ) {
        terminal = Terminal(input: input, output: output)
        isInteractive = terminal.isInteractive
        self.historyPath = historyPath
        let history = isInteractive ? historyPath.map { History.load(from: $0) } ?? History() : History()
        editor = LineEditorCore(prompt: prompt, history: history, completer: completer)
    }

    /// The history of this session (loaded from the file, plus the lines typed since).
    public var history: History { editor.history }

    /// The next line, without its line ending; nil at end of input (Ctrl-D on an empty line,
    /// stdin closed, the terminal gone, or a signal that took raw mode away).
    public func readLine() -> String? {
        guard isInteractive else { return readPlainLine() }
        do {
            try terminal.enableRawMode()
        } catch {
            return readPlainLine()  // a terminal that refuses raw mode still works line by line
        }
        defer { terminal.restore() }
        editor.columns = terminal.columns() ?? 80
        var output = editor.begin()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            draw(output.bytes)
            for event in output.events {
                switch event {
                case .line(let line):
                    saveHistory()
                    return line
                case .eof:
                    return nil
                case .interrupt, .clearScreen:
                    continue
                }
            }
            let count = buffer.withUnsafeMutableBytes { read(terminal.inputFD, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR, terminal.isRaw { output = EditorOutput(); continue }
            guard count > 0, terminal.isRaw else {
                draw(Array("\r\n".utf8))
                return nil
            }
            editor.columns = terminal.columns() ?? editor.columns
            output = editor.feed(buffer[0..<count])
        }
    }

    private func draw(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        try? writeAll(fd: terminal.outputFD, bytes)  // a vanished terminal ends at the next read
    }

    private func saveHistory() {
        guard let historyPath else { return }
        try? editor.history.save(to: historyPath)  // losing history must not cost the command
    }

    private func readPlainLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                if let line = try plainInput.nextLine() { return Self.text(line) }
            } catch {
                plainInput.removeAll()  // a 16 MiB line is not a command: drop it
                return ""
            }
            if plainInputEnded {
                let rest = plainInput.remainder
                plainInput.removeAll()
                return rest.isEmpty ? nil : Self.text(rest)
            }
            let count = try? retryingEINTR("read") {
                chunk.withUnsafeMutableBytes { read(terminal.inputFD, $0.baseAddress, $0.count) }
            }
            if let count, count > 0 {
                plainInput.append(chunk[0..<count])
            } else {
                plainInputEnded = true
            }
        }
    }

    private static func text(_ bytes: [UInt8]) -> String {
        let trimmed = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes[...]
        return String(decoding: trimmed, as: UTF8.self)
    }
}

/// The given environment variables of this process (`getenv`, no Foundation needed).
@usableFromInline
func currentEnvironment(_ names: [String]) -> [String: String] {
    var result: [String: String] = [:]
    for name in names {
        if let value = getenv(name) { result[name] = String(cString: value) }
    }
    return result
}
