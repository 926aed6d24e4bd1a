/// How many terminal columns a character occupies: 2 for East Asian wide and emoji, 0 for
/// clusters that start with a combining mark, 1 otherwise.
///
/// Both the line editor (cursor placement) and the table renderer (padding) need this; a
/// table padded by `count` would misalign as soon as a model name or an error message carries
/// CJK text. This is the common subset of `wcwidth`, not a full Unicode width table.
func displayWidth(of character: Character) -> Int {
    guard let scalar = character.unicodeScalars.first else { return 0 }
    let v = scalar.value
    if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
    if v < 0x300 { return 1 }
    if (0x300...0x36F).contains(v) || (0x200B...0x200F).contains(v) { return 0 }
    let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]
    return wide.contains { $0.contains(v) } ? 2 : 1
}

/// The display width of a whole string (see `displayWidth(of:)`).
func displayWidth<S: StringProtocol>(_ text: S) -> Int {
    text.reduce(0) { $0 + displayWidth(of: $1) }
}
