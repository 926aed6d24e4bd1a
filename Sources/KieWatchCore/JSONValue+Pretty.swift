extension JSONValue {
    /// JSON text for people and for diffs: `sortedKeys` orders every object's members by the
    /// UTF-8 bytes of their keys (so two documents built in different orders compare equal
    /// as text), and `pretty` indents by two spaces with `"key": value`.
    ///
    /// `serialized()` stays the wire form (member order as stored, one line); this is the
    /// form for `--json` consumers who want to diff or read, and both share the same escaping
    /// and number rules, so switching between them never changes a value.
    public func rendered(sortedKeys: Bool = false, pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writeRendered(into: &out, sortedKeys: sortedKeys, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    private func writeRendered(into out: inout [UInt8], sortedKeys: Bool, pretty: Bool, indent: Int) {
        switch self {
        case .null, .bool, .int, .double, .string:
            write(into: &out)
        case .array(let elements):
            writeContainer(open: "[", close: "]", elements, into: &out, pretty: pretty, indent: indent) { element, out in
                element.writeRendered(into: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
        case .object(let members):
            let ordered = sortedKeys
                ? members.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) } : members
            writeContainer(open: "{", close: "}", ordered, into: &out, pretty: pretty, indent: indent) { member, out in
                JSONValue.writeString(member.key, into: &out)
                out.append(contentsOf: (pretty ? ": " : ":").utf8)
                member.value.writeRendered(into: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
        }
    }

    private func writeContainer<Element>(
        open: Unicode.Scalar, close: Unicode.Scalar, _ elements: [Element], into out: inout [UInt8],
        pretty: Bool, indent: Int, element writeElement: (Element, inout [UInt8]) -> Void
    ) {
        out.append(UInt8(ascii: open))
        guard !elements.isEmpty else { return out.append(UInt8(ascii: close)) }
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            if pretty { Self.newline(indent + 1, into: &out) }
            writeElement(element, &out)
        }
        if pretty { Self.newline(indent, into: &out) }
        out.append(UInt8(ascii: close))
    }

    private static func newline(_ depth: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }
}
