/// A SQLite value as it crosses the C boundary, for generic `execute`/`query` and the console.
///
/// Typed hot paths bind and read `Int64`/`String`/... directly; this enum is for the places
/// where the shape of a row is only known at run time.
package enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value as the console prints it: `NULL` is `nil`, blobs are `x'..'` hex.
    package var displayString: String? {
        switch self {
        case .null: return nil
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        case .text(let value): return value
        case .blob(let bytes):
            let hex = "0123456789abcdef".utf8.map { $0 }
            var out = [UInt8]("x'".utf8)
            out.reserveCapacity(bytes.count * 2 + 3)
            for byte in bytes {
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
            out.append(UInt8(ascii: "'"))
            return String(decoding: out, as: UTF8.self)
        }
    }

    package var int64: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    package var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(stringLiteral value: String) { self = .text(value) }
    package init(nilLiteral: ()) { self = .null }
}
