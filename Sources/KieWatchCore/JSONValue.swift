/// A JSON document as a value: what Kie sends is loose (numbers as strings, JSON inside
/// strings, fields that come and go), so the wire model reads it through this tolerant view
/// rather than through rigid `Decodable` types.
///
/// Objects keep their key order, so what kiewatch writes (console `--json`, synthesized
/// callbacks) is stable and reads like what Kie sends.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

// MARK: - Reading

extension JSONValue {
    /// The member `key` of an object (first occurrence), or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The first present, non-null member among `keys`: Kie spells some fields two ways.
    public func first(_ keys: String...) -> JSONValue? {
        for key in keys {
            if let value = self[key], value != .null { return value }
        }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The value as a string: strings as they are, numbers and booleans in their JSON form.
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONValue.format(d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    /// A non-empty string (Kie sends `""` where it means "none").
    public var nonEmptyString: String? {
        guard let s = stringValue, !s.isEmpty else { return nil }
        return s
    }

    /// The value as an integer: integers, integral doubles and numeric strings.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.isFinite && d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
        case .string(let s):
            let t = s.trimmingSpaces
            if let i = Int64(t) { return i }
            if let d = Double(t), d.isFinite, d.rounded() == d, abs(d) < 9.2e18 { return Int64(d) }
            return nil
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The value as a finite double: numbers and numeric strings.
    ///
    /// NaN and the infinities are nil, whichever way they arrive: a string `"NaN"` or
    /// `"inf"` (which `Double(_:)` would read), or a number beyond Double's range such as
    /// `1e400` (which the parser keeps as `.double(.infinity)` so the document still parses).
    /// No field Kie sends means either, and they poison every sum they enter.
    public var doubleValue: Double? {
        let d: Double?
        switch self {
        case .int(let i): d = Double(i)
        case .double(let v): d = v
        case .string(let s): d = Double(s.trimmingSpaces)
        default: d = nil
        }
        guard let d, d.isFinite else { return nil }
        return d
    }

    public var boolValue: Bool? {
        switch self {
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .string(let s):
            switch s.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: return nil
            }
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(key: String, value: JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Kie nests JSON inside strings (`param`, `resultJson`, sometimes `resultUrls`): a string
    /// that parses as JSON is returned parsed, anything else is returned as it is.
    public var unwrappingEmbeddedJSON: JSONValue {
        guard case .string(let s) = self else { return self }
        let trimmed = s.trimmingSpaces
        guard let first = trimmed.utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
            return self
        }
        return (try? JSONValue.parse(Array(trimmed.utf8))) ?? self
    }
}

extension String {
    var trimmingSpaces: String {
        // On the UTF-8 bytes (spaces are ASCII), not Characters: no grapheme breaking.
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { !Self.isSpace($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !Self.isSpace($0) })!
        if first == bytes.startIndex && last == bytes.index(before: bytes.endIndex) { return self }
        // Both ends are scalar boundaries: `first` starts a scalar, `last` ends one.
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

// MARK: - Building

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
    public init(floatLiteral value: Double) { self = .double(value) }

    /// `.string` or `.null`.
    public init(_ string: String?) { self = string.map { .string($0) } ?? .null }
    /// `.int` or `.null`.
    public init(_ int: Int64?) { self = int.map { .int($0) } ?? .null }
}
