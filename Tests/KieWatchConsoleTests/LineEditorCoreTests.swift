import Testing

@testable import KieWatchConsole

private let esc: UInt8 = 0x1B
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
private let enter: [UInt8] = [0x0D]
private let left: [UInt8] = [esc, 0x5B, 0x44]
private let right: [UInt8] = [esc, 0x5B, 0x43]
private let up: [UInt8] = [esc, 0x5B, 0x41]
private let down: [UInt8] = [esc, 0x5B, 0x42]

/// Feeds `input` to a fresh editor and returns the events.
private func events(_ input: [UInt8], history: History = History(), completer: @escaping (String) -> [String] = { _ in [] }) -> [EditorEvent] {
    var editor = LineEditorCore(history: history, completer: completer)
    return editor.feed(input).events
}

private func line(_ input: [UInt8], history: History = History(), completer: @escaping (String) -> [String] = { _ in [] }) -> String? {
    for case .line(let text) in events(input, history: history, completer: completer) { return text }
    return nil
}

struct LineEditorCoreTests {
    @Test func plainTextAndEnter() {
        #expect(events(bytes("status") + enter) == [.line("status")])
        #expect(events(bytes("status\n")) == [.line("status")])
    }

    @Test func carriageReturnLineFeedIsOneEnter() {
        var editor = LineEditorCore()
        #expect(editor.feed(bytes("a\r\nb\r")).events == [.line("a")])
        #expect(editor.begin().events == [.line("b")])
    }

    @Test func leftArrowInsertsInTheMiddle() {
        #expect(line(bytes("abc") + left + bytes("X") + enter) == "abXc")
        #expect(line(bytes("abc") + left + left + right + bytes("X") + enter) == "abXc")
    }

    @Test func applicationModeArrowsAndHomeEnd() {
        #expect(line(bytes("abc") + [esc, 0x4F, 0x44] + bytes("X") + enter) == "abXc")  // ESC O D
        #expect(line(bytes("abc") + [esc, 0x4F, 0x48] + bytes("X") + enter) == "Xabc")  // ESC O H
        #expect(line(bytes("abc") + [0x01, esc, 0x4F, 0x46] + bytes("X") + enter) == "abcX")  // ESC O F
    }

    @Test(arguments: [
        [esc, 0x5B, 0x48],  // ESC [ H
        [esc, 0x5B, 0x31, 0x7E],  // ESC [ 1 ~
        [esc, 0x5B, 0x37, 0x7E],  // ESC [ 7 ~
        [0x01],  // Ctrl-A
    ] as [[UInt8]])
    func homeKeys(_ home: [UInt8]) {
        #expect(line(bytes("abc") + home + bytes("X") + enter) == "Xabc")
    }

    @Test(arguments: [
        [esc, 0x5B, 0x46],  // ESC [ F
        [esc, 0x5B, 0x34, 0x7E],  // ESC [ 4 ~
        [esc, 0x5B, 0x38, 0x7E],  // ESC [ 8 ~
        [0x05],  // Ctrl-E
    ] as [[UInt8]])
    func endKeys(_ end: [UInt8]) {
        #expect(line(bytes("abc") + [0x01] + end + bytes("X") + enter) == "abcX")
    }

    @Test func backspaceBothCodes() {
        #expect(line(bytes("abc") + [0x7F] + enter) == "ab")
        #expect(line(bytes("abc") + [0x08] + enter) == "ab")
        #expect(line(bytes("abc") + left + [0x7F] + enter) == "ac")
        #expect(line([0x7F] + bytes("a") + enter) == "a")  // at column 0: nothing
    }

    @Test func deleteKeyAndCtrlDOnNonEmptyLine() {
        #expect(line(bytes("abc") + [0x01] + [esc, 0x5B, 0x33, 0x7E] + enter) == "bc")
        #expect(line(bytes("abc") + left + [0x04] + enter) == "ab")
        #expect(line(bytes("abc") + [0x04] + enter) == "abc")  // at the end: nothing to delete
    }

    @Test func ctrlDOnEmptyLineIsEOF() {
        #expect(events([0x04]) == [.eof])
        #expect(events(bytes("a") + [0x7F, 0x04]) == [.eof])
    }

    @Test func killKeys() {
        #expect(line(bytes("tasks state=failed") + left + left + [0x15] + enter) == "ed")  // Ctrl-U
        #expect(line(bytes("tasks state=failed") + [0x01] + right + [0x0B] + enter) == "t")  // Ctrl-K
    }

    @Test func ctrlWDeletesPreviousWord() {
        #expect(line(bytes("models 24h") + [0x17] + enter) == "models ")
        #expect(line(bytes("models 24h  ") + [0x17] + enter) == "models ")
        #expect(line(bytes("watch 5 stale") + left + left + [0x17] + bytes("X") + enter) == "watch 5 Xle")
    }

    @Test func wordMovesWithModifiedArrowsAndAlt() {
        // Ctrl-Left (ESC [ 1 ; 5 D) then Alt-B, Alt-F
        #expect(line(bytes("aa bb cc") + [esc] + bytes("[1;5D") + bytes("X") + enter) == "aa bb Xcc")
        #expect(line(bytes("aa bb cc") + [esc, 0x62, esc, 0x62, esc, 0x66] + bytes("X") + enter) == "aa bbX cc")
    }

    @Test func ctrlCInterruptsAndClearsTheLine() {
        var editor = LineEditorCore()
        let output = editor.feed(bytes("abc") + [0x03])
        #expect(output.events == [.interrupt])
        #expect(editor.line == "")
        #expect(editor.feed(bytes("x") + enter).events == [.line("x")])
    }

    @Test func ctrlLClearsTheScreen() {
        var editor = LineEditorCore(prompt: "> ")
        let output = editor.feed(bytes("ab") + [0x0C])
        #expect(output.events == [.clearScreen])
        #expect(String(decoding: output.bytes, as: UTF8.self).hasSuffix("\u{1B}[H\u{1B}[2J\r> ab\u{1B}[0K\r\u{1B}[4C"))
        #expect(editor.line == "ab")
    }

    @Test func multibyteCharactersAreOneCharacter() {
        // "héllo" then one left and one backspace removes the "l", not half an "é"
        #expect(line(bytes("héllo") + left + [0x7F] + enter) == "hélo")
        #expect(line(bytes("日本") + left + bytes("x") + enter) == "日x本")
        // e + combining acute is one character for the cursor
        #expect(line(bytes("ne\u{301}") + [0x7F] + enter) == "n")
    }

    @Test func bytesSplitAcrossFeeds() {
        var editor = LineEditorCore()
        let e = Array("é".utf8)
        var collected: [EditorEvent] = []
        for chunk in [bytes("ab"), [esc], [0x5B], [0x44], [e[0]], [e[1]], [esc, 0x5B, 0x33], [0x7E], enter] {
            collected += editor.feed(chunk).events
        }
        // ab, left, é inserted before b, delete removes b
        #expect(collected == [.line("aé")])
    }

    @Test func unknownEscapeSequencesAreIgnored() {
        #expect(line(bytes("ab") + [esc] + bytes("[15~") + [esc] + bytes("[1;5A") + [esc] + bytes("Oq") + bytes("c") + enter) == "abc")
        #expect(line(bytes("a") + [esc, 0x7A] + bytes("b") + enter) == "ab")  // Alt-z
    }

    @Test func invalidUTF8IsDropped() {
        #expect(line(bytes("a") + [0xFF, 0x80] + bytes("b") + enter) == "ab")
        #expect(line(bytes("a") + [0xC3] + bytes("b") + enter) == "ab")  // truncated sequence
    }

    @Test func historyUpAndDownKeepsTheLineBeingEdited() {
        let history = History(entries: ["status", "models 24h"])
        #expect(line(up + enter, history: history) == "models 24h")
        #expect(line(up + up + enter, history: history) == "status")
        #expect(line(up + up + up + enter, history: history) == "status")  // stops at the oldest
        #expect(line(bytes("tas") + up + up + down + down + enter, history: history) == "tas")
        #expect(line(bytes("x") + down + enter, history: history) == "x")  // nothing below
        // an edit to a recalled entry survives moving away and back
        #expect(line(up + bytes("!") + up + down + enter, history: history) == "models 24h!")
        #expect(line([0x10, 0x0E, 0x10] + enter, history: history) == "models 24h")  // Ctrl-P / Ctrl-N
    }

    @Test func enteredLinesGoToHistory() {
        var editor = LineEditorCore()
        _ = editor.feed(bytes("status") + enter)
        _ = editor.begin()
        _ = editor.feed(bytes("status") + enter)
        _ = editor.begin()
        _ = editor.feed(bytes("   ") + enter)
        #expect(editor.history.entries == ["status"])
        _ = editor.begin()
        #expect(editor.feed(up + enter).events == [.line("status")])
    }

    private static let commands = ["status", "stale", "models ", "missed ", "tasks "]
    private static func complete(_ before: String) -> [String] {
        let word = before.split(separator: " ", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        if before.hasPrefix("tasks ") {
            return ["state=", "since=", "model="].filter { $0.hasPrefix(word) }
        }
        return commands.filter { $0.hasPrefix(word) }
    }

    @Test func tabCompletesASingleMatch() {
        #expect(line(bytes("mo\t24h") + enter, completer: Self.complete) == "models 24h")
        #expect(line(bytes("tasks st\t") + bytes("failed") + enter, completer: Self.complete) == "tasks state=failed")
    }

    @Test func tabCompletesTheCommonPrefixThenLists() {
        var editor = LineEditorCore(prompt: "> ", completer: Self.complete)
        let first = editor.feed(bytes("s\t"))
        #expect(editor.line == "sta")  // "status" and "stale" share "sta"
        #expect(!first.bytes.contains(0x07))
        let second = editor.feed(bytes("\t"))
        let text = String(decoding: second.bytes, as: UTF8.self)
        #expect(text == "\r\nstatus  stale\r\n\r> sta\u{1B}[0K\r\u{1B}[5C")
        #expect(editor.line == "sta")
    }

    @Test func tabWithoutProgressRingsThenLists() {
        var editor = LineEditorCore(prompt: "> ", completer: Self.complete)
        _ = editor.feed(bytes("m"))
        let first = editor.feed(bytes("\t"))
        #expect(first.bytes.first == 0x07)
        let second = editor.feed(bytes("\t"))
        #expect(String(decoding: second.bytes, as: UTF8.self).hasPrefix("\r\nmodels  missed\r\n"))
    }

    @Test func tabWithNoMatchRings() {
        var editor = LineEditorCore(completer: Self.complete)
        _ = editor.feed(bytes("zz"))
        let output = editor.feed(bytes("\t"))
        #expect(output.bytes.first == 0x07)
        #expect(editor.line == "zz")
    }

    @Test func completerSeesOnlyTheLineBeforeTheCursor() {
        nonisolated(unsafe) var seen: [String] = []
        _ = line(bytes("tasks sta 24h") + left + left + left + left + bytes("\t") + enter) { before in
            seen.append(before)
            return []
        }
        #expect(seen == ["tasks sta"])
    }

    @Test func redrawIsExact() {
        var editor = LineEditorCore(prompt: "kiewatch> ")
        #expect(editor.begin().bytes == bytes("\rkiewatch> \u{1B}[0K\r\u{1B}[10C"))
        #expect(editor.feed(bytes("ab")).bytes == bytes("\rkiewatch> a\u{1B}[0K\r\u{1B}[11C\rkiewatch> ab\u{1B}[0K\r\u{1B}[12C"))
        #expect(editor.feed(left).bytes == bytes("\rkiewatch> ab\u{1B}[0K\r\u{1B}[11C"))
        #expect(editor.feed(enter).bytes == bytes("\r\n"))
    }

    @Test func longLinesScrollHorizontally() {
        var editor = LineEditorCore(prompt: "> ", columns: 10)
        let output = editor.feed(bytes("abcdefghijkl"))
        // 10 columns, 2 for the prompt, 1 kept free: the last 7 characters stay visible
        #expect(String(decoding: output.bytes, as: UTF8.self).hasSuffix("\r> fghijkl\u{1B}[0K\r\u{1B}[9C"))
        #expect(editor.line == "abcdefghijkl")
    }

    @Test func pastedLinesWaitForTheNextPrompt() {
        var editor = LineEditorCore()
        #expect(editor.feed(bytes("status\rmodels\r")).events == [.line("status")])
        #expect(editor.feed(bytes("x")).events == [])  // not editing until begin()
        #expect(editor.begin().events == [.line("models")])
        #expect(editor.begin().events == [])
        #expect(editor.line == "x")
    }
}
