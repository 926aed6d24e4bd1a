/// Where a value sits in a Kie payload, spelled as text in the family table:
/// `info.resultUrls`, `response.sunoData[].audioUrl` (`[]`: each element of an array),
/// `resultJson$.resultUrls` (`$`: a member Kie sends as a JSON-encoded string).
///
/// Reading is tolerant: any member may come as embedded JSON text or as the value itself, and
/// a `[]` step over a lone object reads that object. Writing (the simulator, synthesized
/// callbacks) follows the spelling exactly.
public struct FieldPath: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public struct Step: Sendable, Hashable {
        public let key: String
        /// The member's value is JSON text (`resultJson`).
        public let embedded: Bool
        /// The member is an array whose elements the rest of the path reads.
        public let each: Bool
    }

    public let steps: [Step]
    public let description: String
    /// No `[]` step: one value at most, read without building lists.
    let single: Bool

    public init(_ text: String) {
        description = text
        steps = text.split(separator: ".").map { part in
            var key = Substring(part)
            var each = false
            var embedded = false
            if key.hasSuffix("[]") {
                each = true
                key = key.dropLast(2)
            }
            if key.hasSuffix("$") {
                embedded = true
                key = key.dropLast()
            }
            return Step(key: String(key), embedded: embedded, each: each)
        }
        single = !steps.contains(where: \.each)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The key of a one-step path (`taskId`).
    public var key: String { steps.first?.key ?? "" }

    // MARK: Reading

    /// Every value at this path (several when a step is `[]`), skipping nulls.
    public func values(in root: JSONValue) -> [JSONValue] {
        var current: [JSONValue] = [root]
        for step in steps {
            var next: [JSONValue] = []
            for value in current {
                guard let member = value.unwrappingEmbeddedJSON[step.key]?.unwrappingEmbeddedJSON, !member.isNull else {
                    continue
                }
                if step.each, case .array(let items) = member {
                    next.append(contentsOf: items.lazy.map(\.unwrappingEmbeddedJSON).filter { !$0.isNull })
                } else {
                    next.append(member)
                }
            }
            current = next
            if current.isEmpty { break }
        }
        return current
    }

    /// The first value at this path.
    public func value(in root: JSONValue) -> JSONValue? {
        guard single else { return values(in: root).first }
        var current = root
        for step in steps {
            guard let member = current.unwrappingEmbeddedJSON[step.key]?.unwrappingEmbeddedJSON, !member.isNull else {
                return nil
            }
            current = member
        }
        return current
    }

    // MARK: Writing

    /// `root` with `value` written at this path, creating the objects on the way; a `[]` step
    /// writes one element per value of an array `value` (the rest of the path inside each).
    public func writing(_ value: JSONValue, into root: JSONValue) -> JSONValue {
        Self.write(value, steps: steps[...], into: root)
    }

    private static func write(_ value: JSONValue, steps: ArraySlice<Step>, into root: JSONValue) -> JSONValue {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        var members = root.unwrappingEmbeddedJSON.objectValue ?? []
        var child: JSONValue
        if step.each {
            let items = value.arrayValue ?? [value]
            child = .array(items.map { write($0, steps: rest, into: .object([])) })
        } else {
            let existing = members.first(where: { $0.key == step.key })?.value ?? .object([])
            child = write(value, steps: rest, into: existing)
        }
        if step.embedded { child = .string(child.serialized()) }
        if let i = members.firstIndex(where: { $0.key == step.key }) {
            members[i].value = child
        } else {
            members.append((step.key, child))
        }
        return .object(members)
    }
}

extension Array where Element == FieldPath {
    /// The first value any of these paths finds.
    public func firstValue(in root: JSONValue) -> JSONValue? {
        for path in self { if let v = path.value(in: root) { return v } }
        return nil
    }
}
