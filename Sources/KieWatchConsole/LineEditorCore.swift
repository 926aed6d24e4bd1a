/// The line editor as a pure state machine: bytes in, screen bytes and events out.
///
/// No terminal, no file descriptor, no clock: every key can be tested with literal bytes,
/// and the only code that touches the terminal (`InteractiveReader`, `Terminal`) stays small
/// enough to check by reading.
///
/// Drawing uses one strategy only, linenoise's "single line with horizontal scrolling":
/// every change rewrites the whole line (`\r`, prompt, visible slice, erase to end of line,
/// cursor placement). It is a few dozen bytes per key and it cannot leave stale characters
/// behind, whatever the terminal width or the terminal's wrapping behaviour.
///
/// After `.line` or `.eof` the editor stops consuming input (a paste of several lines is kept
/// queued) until `begin()` is called for the next prompt; so output of the command for the
/// first line is never interleaved with the echo of the second.
public struct LineEditorCore {
    public var prompt: String
    /// Terminal width in columns; the caller refreshes it before feeding (resizes are cheap to
    /// follow this way, without a SIGWINCH handler).
    public var columns: Int
    public private(set) var history: History
    /// Longest line accepted; beyond it keys ring the bell. A line is a single command.
    public var maxLineLength = 16_384

    private let completer: (String) -> [String]
    private var decoder = KeyDecoder()
    private var queuedKeys: [KeyDecoder.Key] = []
    private var buffer: [Character] = []
    private var cursor = 0
    /// Which history entry is shown; `history.count` means the line being typed.
    private var historyIndex = 0
    /// Lines edited while browsing history, by index; `edits[history.count]` is the new line.
    private var edits: [Int: [Character]] = [:]
    private var lastKeyWasTab = false
    private var isEditing = true

    /// - Parameter completer: called on Tab with the line before the cursor; returns the
    ///   candidates for the word being typed (the text after the last space), each a complete
    ///   replacement for that word. End a candidate with a space to finish the word
    ///   (`"models "`); leave it off where more typing follows (`"state="`).
    public init(
        prompt: String = "kiewatch> ",
        history: History = History(),
        columns: Int = 80,
        completer: @escaping (String) -> [String] = { _ in [] }
    ) {
        self.prompt = prompt
        self.history = history
        self.columns = columns
        self.completer = completer
        self.historyIndex = history.count
    }

    /// The line being edited.
    public var line: String { String(buffer) }
    /// The cursor position, in characters from the start of the line.
    public var cursorPosition: Int { cursor }

    /// Starts a new prompt: draws it, then applies any keys queued after the previous line.
    public mutating func begin() -> EditorOutput {
        isEditing = true
        var output = EditorOutput(bytes: refresh())
        process(into: &output)
        return output
    }

    /// Feeds bytes read from the terminal.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> EditorOutput {
        queuedKeys.append(contentsOf: decoder.decode(bytes))
        var output = EditorOutput()
        process(into: &output)
        return output
    }

    // MARK: - Keys

    private mutating func process(into output: inout EditorOutput) {
        while isEditing, !queuedKeys.isEmpty {
            let key = queuedKeys.removeFirst()
            apply(key, into: &output)
        }
    }

    private mutating func apply(_ key: KeyDecoder.Key, into output: inout EditorOutput) {
        let wasTab = lastKeyWasTab
        lastKeyWasTab = false
        switch key {
        case .text(let character):
            guard insert(character) else { return output.bytes.append(0x07) }
        case .enter:
            let finished = line
            history.add(finished)
            resetLine()
            isEditing = false
            output.bytes += Array("\r\n".utf8)
            output.events.append(.line(finished))
            return
        case .endOfFile:
            if buffer.isEmpty {
                isEditing = false
                output.bytes += Array("\r\n".utf8)
                output.events.append(.eof)
                return
            }
            guard cursor < buffer.count else { return }
            buffer.remove(at: cursor)
        case .interrupt:
            resetLine()
            output.bytes += Array("^C\r\n".utf8)
            output.events.append(.interrupt)
        case .clearScreen:
            output.bytes += Array("\u{1B}[H\u{1B}[2J".utf8)
            output.events.append(.clearScreen)
        case .backspace:
            guard cursor > 0 else { return }
            cursor -= 1
            buffer.remove(at: cursor)
        case .delete:
            guard cursor < buffer.count else { return }
            buffer.remove(at: cursor)
        case .left:
            guard cursor > 0 else { return }
            cursor -= 1
        case .right:
            guard cursor < buffer.count else { return }
            cursor += 1
        case .home:
            cursor = 0
        case .end:
            cursor = buffer.count
        case .wordLeft:
            cursor = startOfWord(before: cursor)
        case .wordRight:
            while cursor < buffer.count, buffer[cursor] == " " { cursor += 1 }
            while cursor < buffer.count, buffer[cursor] != " " { cursor += 1 }
        case .killToStart:
            buffer.removeSubrange(0..<cursor)
            cursor = 0
        case .killToEnd:
            buffer.removeSubrange(cursor...)
        case .deleteWord:
            let start = startOfWord(before: cursor)
            buffer.removeSubrange(start..<cursor)
            cursor = start
        case .up:
            guard showHistory(at: historyIndex - 1) else { return }
        case .down:
            guard showHistory(at: historyIndex + 1) else { return }
        case .tab:
            complete(secondTab: wasTab, into: &output)
        }
        output.bytes += refresh()
    }

    /// Inserts at the cursor; a combining mark joins the character before it, so that
    /// "e" + U+0301 is one character for the cursor, as it is on screen.
    private mutating func insert(_ character: Character) -> Bool {
        if cursor > 0 {
            let merged = String(buffer[cursor - 1]) + String(character)
            if merged.count == 1, let joined = merged.first {
                buffer[cursor - 1] = joined
                return true
            }
        }
        guard buffer.count < maxLineLength else { return false }
        buffer.insert(character, at: cursor)
        cursor += 1
        return true
    }

    private func startOfWord(before position: Int) -> Int {
        var start = position
        while start > 0, buffer[start - 1] == " " { start -= 1 }
        while start > 0, buffer[start - 1] != " " { start -= 1 }
        return start
    }

    private mutating func resetLine() {
        buffer = []
        cursor = 0
        edits = [:]
        historyIndex = history.count
        lastKeyWasTab = false
    }

    /// Shows history entry `index`, keeping what was typed (or changed) on the current one.
    private mutating func showHistory(at index: Int) -> Bool {
        guard index >= 0, index <= history.count, index != historyIndex else { return false }
        edits[historyIndex] = buffer
        historyIndex = index
        buffer = edits[index] ?? (index == history.count ? [] : Array(history.entries[index]))
        cursor = buffer.count
        return true
    }

    // MARK: - Completion

    private mutating func complete(secondTab: Bool, into output: inout EditorOutput) {
        let wordStart = buffer[..<cursor].lastIndex(of: " ").map { $0 + 1 } ?? 0
        let word = Array(buffer[wordStart..<cursor])
        var seen = Set<String>()
        let candidates = completer(String(buffer[..<cursor])).filter { seen.insert($0).inserted }
        switch candidates.count {
        case 0:
            output.bytes.append(0x07)
        case 1:
            replace(wordStart..<cursor, with: Array(candidates[0]))
        default:
            let prefix = Self.commonPrefix(candidates)
            if prefix.count > word.count {
                replace(wordStart..<cursor, with: prefix)
            } else if !secondTab {
                output.bytes.append(0x07)
            } else {
                output.bytes += listing(candidates)
            }
            lastKeyWasTab = true
        }
    }

    private mutating func replace(_ range: Range<Int>, with characters: [Character]) {
        buffer.replaceSubrange(range, with: characters)
        cursor = range.lowerBound + characters.count
    }

    private static func commonPrefix(_ candidates: [String]) -> [Character] {
        var prefix = Array(candidates[0])
        for candidate in candidates.dropFirst() {
            let other = Array(candidate)
            var length = 0
            while length < min(prefix.count, other.count), prefix[length] == other[length] { length += 1 }
            prefix.removeSubrange(length...)
        }
        return prefix
    }

    /// The candidates under the line, in as many columns as fit, like a shell.
    private func listing(_ candidates: [String]) -> [UInt8] {
        let names = candidates.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
        let cellWidth = (names.map { displayWidth($0) }.max() ?? 0) + 2
        let perRow = max(1, columns / cellWidth)
        var text = "\r\n"
        for (index, name) in names.enumerated() {
            let endOfRow = index % perRow == perRow - 1 || index == names.count - 1
            text += endOfRow ? name + "\r\n" : name + String(repeating: " ", count: cellWidth - displayWidth(name))
        }
        return Array(text.utf8)
    }

    // MARK: - Drawing

    /// Redraws prompt and line, scrolled horizontally so the cursor is always visible and
    /// the last column stays free (writing there would wrap on many terminals).
    private func refresh() -> [UInt8] {
        let promptWidth = displayWidth(prompt)
        let available = max(columns - promptWidth - 1, 1)
        var start = 0
        var widthBeforeCursor = buffer[..<cursor].reduce(0) { $0 + displayWidth(of: $1) }
        while widthBeforeCursor > available, start < cursor {
            widthBeforeCursor -= displayWidth(of: buffer[start])
            start += 1
        }
        var end = start
        var visibleWidth = 0
        while end < buffer.count, visibleWidth + displayWidth(of: buffer[end]) <= available {
            visibleWidth += displayWidth(of: buffer[end])
            end += 1
        }
        var text = "\r" + prompt + String(buffer[start..<end]) + "\u{1B}[0K\r"
        let column = promptWidth + widthBeforeCursor
        if column > 0 { text += "\u{1B}[\(column)C" }
        return Array(text.utf8)
    }
}
