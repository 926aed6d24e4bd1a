/// Renders rows as an aligned text table that fits the terminal.
///
/// Columns are separated by two spaces, with no borders, so the output stays greppable and
/// pastes cleanly into a ticket. When the table is wider than `width`, the widest *text*
/// columns give up space first and their cells end in `…`; numeric columns and identifier
/// columns (`Column.identifier`: task ids, which an engineer copies into the next command)
/// are never truncated, because a shortened number is a wrong number and a shortened id
/// names nothing (the line then exceeds `width` if nothing else can shrink). A nil `width`
/// (output to a pipe or a file) fits nothing: every cell is whole. Cell text is sanitised:
/// control characters (including ESC, which could come from an upstream error message)
/// become spaces, so data can never move the cursor or change colours.
///
/// ```swift
/// var table = TableRenderer(columns: [
///     .init("MODEL"), .init("CALLS"), .init("P95"), .init("FAILED"),
/// ])
/// table.addRow(["veo3_fast", "12,345", "4m05s", .init("2.5%", tone: .bad)])
/// print(table.render(width: 80, color: .standardOutput))
/// // MODEL       CALLS    P95  FAILED
/// // veo3_fast  12,345  4m05s    2.5%
/// ```
public struct TableRenderer: Sendable {
    public enum Alignment: Sendable, Equatable {
        case left, right
        /// Right when every non-empty cell is a number, optionally with a unit
        /// (`12,345`, `97.5%`, `850ms`, `4m05s`, `1.2 MiB`), left otherwise. Give ID columns
        /// an explicit `.left`: a hex ID such as `3e5` would look numeric.
        case automatic
    }

    public struct Column: Sendable, Equatable {
        public var header: String
        public var alignment: Alignment
        /// Never shortened to fit the width: its cells are copied into commands (`task ID`).
        public var isIdentifier: Bool

        public init(_ header: String, alignment: Alignment = .automatic, isIdentifier: Bool = false) {
            self.header = header
            self.alignment = alignment
            self.isIdentifier = isIdentifier
        }

        /// A column of ids (left-aligned unless told otherwise), never shortened.
        public static func identifier(_ header: String, alignment: Alignment = .left) -> Column {
            Column(header, alignment: alignment, isIdentifier: true)
        }
    }

    /// How a cell should catch the eye, when colour is enabled.
    public enum Tone: Sendable, Equatable {
        case plain, good, bad, warning
    }

    public struct Cell: Sendable, Equatable, ExpressibleByStringLiteral {
        public var text: String
        public var tone: Tone

        public init(_ text: String, tone: Tone = .plain) {
            self.text = text
            self.tone = tone
        }

        public init(stringLiteral value: String) {
            self.init(value)
        }
    }

    /// Narrowest a text column is squeezed to: three characters and the ellipsis.
    public static let minimumTextWidth = 4
    static let separator = "  "

    public var columns: [Column]
    public private(set) var rows: [[Cell]] = []

    public init(columns: [Column], rows: [[Cell]] = []) {
        self.columns = columns
        for row in rows { addRow(row) }
    }

    /// Headers only, every column `.automatic`.
    public init(headers: [String]) {
        self.init(columns: headers.map { Column($0) })
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    public mutating func addRow(_ cells: [Cell]) {
        var row = Array(cells.prefix(columns.count)).map { Cell(Self.sanitised($0.text), tone: $0.tone) }
        while row.count < columns.count { row.append(Cell("")) }
        rows.append(row)
    }

    public mutating func addRow(_ texts: [String]) {
        addRow(texts.map { Cell($0) })
    }

    /// The table as lines joined by `\n`, without a trailing newline and without trailing
    /// spaces on any line. `width` nil: no limit, nothing is shortened.
    public func render(width: Int? = 80, color: ColorPolicy = .disabled) -> String {
        guard !columns.isEmpty else { return "" }
        let headers = columns.map { Self.sanitised($0.header) }
        let alignments = columns.indices.map { resolvedAlignment(of: $0) }
        let widths = fittedWidths(headers: headers, alignments: alignments, limit: width)
        var lines = [line(headers.map { Cell($0) }, widths: widths, alignments: alignments, color: color, isHeader: true)]
        for row in rows {
            lines.append(line(row, widths: widths, alignments: alignments, color: color, isHeader: false))
        }
        return lines.joined(separator: "\n")
    }

    /// One line; colour codes wrap the text only, padding is computed on the plain text.
    private func line(
        _ cells: [Cell], widths: [Int], alignments: [Alignment], color: ColorPolicy, isHeader: Bool
    ) -> String {
        var text = ""
        for (index, cell) in cells.enumerated() {
            if index > 0 { text += Self.separator }
            let content = Self.truncated(cell.text, to: widths[index])
            let padding = String(repeating: " ", count: max(0, widths[index] - displayWidth(content)))
            let styled = isHeader ? color.apply(.bold, to: content) : Self.styled(content, cell.tone, color)
            text += alignments[index] == .right ? padding + styled : styled + padding
        }
        while text.last == " " { text.removeLast() }
        return text
    }

    private static func styled(_ text: String, _ tone: Tone, _ color: ColorPolicy) -> String {
        switch tone {
        case .plain: return text
        case .good: return color.apply(.green, to: text)
        case .bad: return color.apply(.red, to: text)
        case .warning: return color.apply(.yellow, to: text)
        }
    }

    private func resolvedAlignment(of column: Int) -> Alignment {
        switch columns[column].alignment {
        case .left: return .left
        case .right: return .right
        case .automatic:
            let texts = rows.map { $0[column].text }.filter { !$0.isEmpty && $0 != "-" }
            return !texts.isEmpty && texts.allSatisfy(Self.looksNumeric) ? .right : .left
        }
    }

    /// Natural widths, then the widest text column that is not an identifier loses a column
    /// at a time until the table fits or every such column is at `minimumTextWidth`.
    private func fittedWidths(headers: [String], alignments: [Alignment], limit: Int?) -> [Int] {
        var widths = headers.map { displayWidth($0) }
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], displayWidth(cell.text)) }
        }
        guard let limit else { return widths }
        var total = widths.reduce(0, +) + Self.separator.count * (widths.count - 1)
        while total > limit {
            let shrinkable = widths.indices.filter {
                alignments[$0] == .left && !columns[$0].isIdentifier && widths[$0] > Self.minimumTextWidth
            }
            // Ties go to the rightmost column: the first column usually identifies the row.
            guard let widest = shrinkable.max(by: { widths[$0] < widths[$1] || (widths[$0] == widths[$1] && $0 < $1) })
            else { break }
            widths[widest] -= 1
            total -= 1
        }
        return widths
    }

    static func truncated(_ text: String, to width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        var result = ""
        var used = 0
        for character in text {
            let w = displayWidth(of: character)
            if used + w > width - 1 { break }
            result.append(character)
            used += w
        }
        return result + "…"
    }

    static func sanitised(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? " " : $0 }))
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
    }

    /// A number, then optionally unit letters possibly followed by more digits:
    /// `12,345`, `-3`, `97.5%`, `850ms`, `4m05s`, `3d4h`, `1.2 MiB`.
    static func looksNumeric(_ text: String) -> Bool {
        var scalars = Substring(text).unicodeScalars[...]
        if let first = scalars.first, first == "-" || first == "+" { scalars = scalars.dropFirst() }
        guard let first = scalars.first, ("0"..."9").contains(first) else { return false }
        var seenSpace = false
        for scalar in scalars {
            switch scalar {
            case "0"..."9", ",", ".", "%": continue
            case "a"..."z", "A"..."Z": continue
            case " " where !seenSpace: seenSpace = true
            default: return false
            }
        }
        return true
    }
}
