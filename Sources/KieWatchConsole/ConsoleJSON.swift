/// A small JSON value and writer for the console's `--json` output.
///
/// Written here rather than with `JSONEncoder` because scripts diff this output: keys come
/// out in the order given (or sorted by UTF-8 bytes on request), integers stay integers
/// (`Int64`, never `1.0`), non-ASCII text stays UTF-8 and only what JSON requires is escaped
/// (plus U+2028/U+2029, which break JavaScript consumers). Non-finite doubles, which JSON
/// cannot express, are written as `null`.
///
/// If `KieWatchCore` grows a shared `JSONValue`, this type should become a thin writer over it.
public indirect enum ConsoleJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([ConsoleJSON])
    /// Members in output order; keys are expected to be unique.
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: ConsoleJSON

        public init(_ key: String, _ value: ConsoleJSON) {
            self.key = key
            self.value = value
        }
    }

    /// An object from key-value pairs in the order written: `.object(["id": 1, "ok": true])`.
    public static func object(_ pairs: KeyValuePairs<String, ConsoleJSON>) -> ConsoleJSON {
        .object(pairs.map { Member($0.key, $0.value) })
    }

    /// The JSON text. `sortedKeys` orders every object's keys by their UTF-8 bytes;
    /// `pretty` indents by two spaces (`"key": value`), otherwise the output is one line.
    public func rendered(sortedKeys: Bool = false, pretty: Bool = false) -> String {
        var output = ""
        write(to: &output, sortedKeys: sortedKeys, pretty: pretty, indent: 0)
        return output
    }

    private func write(to output: inout String, sortedKeys: Bool, pretty: Bool, indent: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += value.isFinite ? Self.number(value) : "null"
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let elements):
            writeContainer("[", "]", elements, to: &output, pretty: pretty, indent: indent) { element, out in
                element.write(to: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
        case .object(let members):
            let ordered = sortedKeys ? members.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) } : members
            writeContainer("{", "}", ordered, to: &output, pretty: pretty, indent: indent) { member, out in
                Self.writeString(member.key, to: &out)
                out += pretty ? ": " : ":"
                member.value.write(to: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
        }
    }

    private func writeContainer<Element>(
        _ open: String, _ close: String, _ elements: [Element],
        to output: inout String, pretty: Bool, indent: Int,
        element writeElement: (Element, inout String) -> Void
    ) {
        output += open
        guard !elements.isEmpty else { return output += close }
        for (index, element) in elements.enumerated() {
            if index > 0 { output += "," }
            if pretty { output += "\n" + String(repeating: "  ", count: indent + 1) }
            writeElement(element, &output)
        }
        if pretty { output += "\n" + String(repeating: "  ", count: indent) }
        output += close
    }

    /// Shortest text that reads back as the same double; always with a `.` or exponent so a
    /// reader can tell it is not an integer.
    private static func number(_ value: Double) -> String {
        let text = "\(value)"
        return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
    }

    static func writeString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension ConsoleJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: ConsoleJSON...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
