/// The token that names a callback route in the URL the agent gives Kie
/// (`<public-url>/webhooks/kie/<token>`): 128 bits from the system's secure generator, as 32
/// lowercase hex digits, so a route cannot be guessed from another.
enum CallbackToken {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex(generator.next()) + hex(generator.next())
    }

    /// Whether a path segment can be a token: 1 to 64 URL-safe characters (`A-Z a-z 0-9 - _`).
    /// Anything else under `/webhooks/kie/` is no webhook path (404).
    static func isWellFormed(_ segment: Substring) -> Bool {
        let bytes = segment.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
