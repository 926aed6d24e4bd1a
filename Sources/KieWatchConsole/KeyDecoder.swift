/// Turns the raw bytes a terminal sends into editing keys.
///
/// Kept apart from the editor because this is where terminals differ (xterm sends `ESC [ H`
/// for Home, rxvt `ESC [ 7 ~`, the Linux console `ESC [ 1 ~`, keypad application mode
/// `ESC O H`) and where bytes arrive split across reads: an escape sequence or a multi-byte
/// UTF-8 character cut in two by `read` is kept in `pending` until the rest arrives.
/// Unknown sequences are swallowed whole so they never show up as garbage in the line.
struct KeyDecoder {
    enum Key: Equatable {
        case text(Character)
        case enter, tab, backspace, delete
        case left, right, home, end, up, down, wordLeft, wordRight
        case interrupt  // Ctrl-C
        case endOfFile  // Ctrl-D
        case killToStart, killToEnd, deleteWord
        case clearScreen
    }

    /// Longest escape sequence we wait for; anything longer is noise and is dropped.
    private static let maxSequenceLength = 16

    private var pending: [UInt8] = []
    /// `\r\n` (a paste from a file with DOS line ends, or a terminal in CRLF mode) is one Enter.
    private var lastWasCarriageReturn = false

    /// Decodes as many complete keys as `bytes` (plus what was pending) contain.
    mutating func decode(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        var index = 0
        while index < pending.count {
            let byte = pending[index]
            if byte == 0x0A && lastWasCarriageReturn {
                lastWasCarriageReturn = false
                index += 1
                continue
            }
            lastWasCarriageReturn = byte == 0x0D
            let consumed: Int?
            if byte == 0x1B {
                consumed = decodeEscape(at: index, into: &keys)
            } else if byte < 0x20 || byte == 0x7F {
                if let key = Self.controlKey(byte) { keys.append(key) }
                consumed = 1
            } else {
                consumed = decodeUTF8(at: index, into: &keys)
            }
            guard let consumed else { break }  // incomplete: wait for more bytes
            index += consumed
        }
        pending.removeFirst(index)
        return keys
    }

    private static func controlKey(_ byte: UInt8) -> Key? {
        switch byte {
        case 0x01: return .home  // Ctrl-A
        case 0x02: return .left  // Ctrl-B
        case 0x03: return .interrupt  // Ctrl-C
        case 0x04: return .endOfFile  // Ctrl-D
        case 0x05: return .end  // Ctrl-E
        case 0x06: return .right  // Ctrl-F
        case 0x08, 0x7F: return .backspace  // Ctrl-H, DEL
        case 0x09: return .tab
        case 0x0A, 0x0D: return .enter
        case 0x0B: return .killToEnd  // Ctrl-K
        case 0x0C: return .clearScreen  // Ctrl-L
        case 0x0E: return .down  // Ctrl-N
        case 0x10: return .up  // Ctrl-P
        case 0x15: return .killToStart  // Ctrl-U
        case 0x17: return .deleteWord  // Ctrl-W
        default: return nil
        }
    }

    /// Returns the number of bytes the sequence at `start` occupies, or nil if incomplete.
    private func decodeEscape(at start: Int, into keys: inout [Key]) -> Int? {
        let available = pending.count - start
        guard available >= 2 else { return nil }
        let introducer = pending[start + 1]
        switch introducer {
        case UInt8(ascii: "["):
            // CSI: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, one final 0x40-0x7E.
            var index = start + 2
            while index < pending.count {
                let byte = pending[index]
                if (0x40...0x7E).contains(byte) {
                    let parameters = String(decoding: pending[(start + 2)..<index], as: UTF8.self)
                    if let key = Self.csiKey(parameters: parameters, final: byte) { keys.append(key) }
                    return index - start + 1
                }
                guard (0x20...0x3F).contains(byte) else { return index - start }  // malformed: drop
                index += 1
            }
            return available >= Self.maxSequenceLength ? available : nil
        case UInt8(ascii: "O"):
            guard available >= 3 else { return nil }
            switch pending[start + 2] {
            case UInt8(ascii: "A"): keys.append(.up)
            case UInt8(ascii: "B"): keys.append(.down)
            case UInt8(ascii: "C"): keys.append(.right)
            case UInt8(ascii: "D"): keys.append(.left)
            case UInt8(ascii: "H"): keys.append(.home)
            case UInt8(ascii: "F"): keys.append(.end)
            default: break
            }
            return 3
        case UInt8(ascii: "b"):
            keys.append(.wordLeft)  // Alt-B
            return 2
        case UInt8(ascii: "f"):
            keys.append(.wordRight)  // Alt-F
            return 2
        case 0x7F, 0x08:
            keys.append(.deleteWord)  // Alt-Backspace
            return 2
        case 0x1B:
            return 1  // ESC ESC: drop the first, the second may start a sequence
        default:
            return 2  // Alt-<key> we do not bind: ignored
        }
    }

    private static func csiKey(parameters: String, final: UInt8) -> Key? {
        // A modifier (`1;5C` is Ctrl-Right) turns arrows into word moves; others are ignored.
        let fields = parameters.split(separator: ";", omittingEmptySubsequences: false)
        let modified = fields.count == 2 && fields[1] != "1"
        switch (final, parameters) {
        case (UInt8(ascii: "A"), _): return modified ? nil : .up
        case (UInt8(ascii: "B"), _): return modified ? nil : .down
        case (UInt8(ascii: "C"), _): return modified ? .wordRight : .right
        case (UInt8(ascii: "D"), _): return modified ? .wordLeft : .left
        case (UInt8(ascii: "H"), _): return .home
        case (UInt8(ascii: "F"), _): return .end
        case (UInt8(ascii: "~"), "1"), (UInt8(ascii: "~"), "7"): return .home
        case (UInt8(ascii: "~"), "4"), (UInt8(ascii: "~"), "8"): return .end
        case (UInt8(ascii: "~"), "3"): return .delete
        default: return nil
        }
    }

    /// Decodes one UTF-8 scalar; invalid bytes are skipped one at a time.
    private func decodeUTF8(at start: Int, into keys: inout [Key]) -> Int? {
        let lead = pending[start]
        let length: Int
        switch lead {
        case 0x20..<0x80: length = 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 1  // stray continuation byte or invalid lead: drop it
        }
        for offset in 1..<max(length, 1) where start + offset < pending.count {
            if pending[start + offset] & 0xC0 != 0x80 { return offset }  // truncated: drop
        }
        guard pending.count - start >= length else { return nil }
        var decoder = UTF8()
        var iterator = pending[start..<(start + length)].makeIterator()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            keys.append(.text(Character(scalar)))
        }
        return length
    }
}
