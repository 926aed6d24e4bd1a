import Foundation
import KieWatchSimulator

/// How many inputs a fuzz test generates and from which seed: fixed defaults so CI is
/// deterministic, overridable to reproduce a failure or to search longer.
///
/// `KIEWATCH_FUZZ_SEED` (an unsigned integer) replaces the seed of every fuzz test;
/// `KIEWATCH_FUZZ_COUNT` replaces the live test's request count and scales the in-process tests'
/// input counts by the same factor against its default (100,000).
/// `KIEWATCH_FUZZ_EXCLUDE` lists comma-separated parts of case labels to leave out (for
/// triage: looking past a failure already known, e.g. `timestamp=9223372036854775807`);
/// a run with exclusions says so in its output.
package struct FuzzSettings: Sendable, CustomStringConvertible {
    package static let defaultLiveCount = 100_000

    package var seed: UInt64
    package var count: Int
    package var excluded: [String]

    /// The settings for a test whose defaults are `seed` and `count` inputs.
    package static func fromEnvironment(seed: UInt64, count: Int) -> FuzzSettings {
        let environment = ProcessInfo.processInfo.environment
        var settings = FuzzSettings(seed: seed, count: count, excluded: [])
        if let text = environment["KIEWATCH_FUZZ_SEED"], let value = UInt64(text) { settings.seed = value }
        if let text = environment["KIEWATCH_FUZZ_COUNT"], let value = Int(text), value > 0 {
            // Scaled in floating point: a huge override must not overflow the product.
            let scaled = Double(count) * Double(value) / Double(defaultLiveCount)
            settings.count = max(1, Int(min(scaled, 1e9)))
        }
        if let text = environment["KIEWATCH_FUZZ_EXCLUDE"] {
            settings.excluded = text.split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
        }
        return settings
    }

    /// Whether a case with this label is left out.
    package func excludes(_ label: String) -> Bool {
        excluded.contains { label.contains($0) }
    }

    /// The generator for input `index`: every input is reproducible from the seed and its index
    /// alone, whatever ran before it.
    package func random(for index: Int) -> SeededRandom {
        SeededRandom(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
    }

    package var description: String {
        "seed \(seed) (KIEWATCH_FUZZ_SEED), \(count) inputs"
            + (excluded.isEmpty ? "" : ", EXCLUDING \(excluded) (KIEWATCH_FUZZ_EXCLUDE)")
    }
}

/// Values that break parsers and arithmetic, shared by the in-process and the live fuzz tests.
package enum FuzzInputs {
    /// JSON number spellings, valid and not, as raw tokens: overflow at every width, NaN and
    /// infinity spellings, precision edges, signs and leading zeros, numbers in strings, and
    /// values of the wrong type.
    package static let absurdJSONNumbers: [String] = [
        // Valid JSON numbers.
        "0", "-0", "1", "-1", "0.0", "-0.0", "1.5", "1e2", "1E+2", "1e-2", "0.1e1",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999999999",
        "123456789012345678901234567890", "9007199254740993", "1e15", "9.99e15", "1e16", "1E16", "1e18",
        "1e19", "-1e19", "9.3e18", "1e308", "1.7976931348623157e308", "-1.7976931348623157e308", "1e309",
        "1e400", "-1e400", "1e-400", "4.9e-324", "2.2250738585072014e-308", "100000000000.5",
        "1" + String(repeating: "0", count: 400), "-" + String(repeating: "9", count: 400),
        "0." + String(repeating: "0", count: 400) + "1",
        // Not JSON.
        "NaN", "-NaN", "Infinity", "-Infinity", "inf", "+1", "01", "-01", "1.", ".5", "0x10", "1e", "1e+",
        "--1", "1_000", "\u{0661}", "1 2", "+Infinity", "0b1",
        // Numbers as strings, as Kie sends some fields.
        "\"NaN\"", "\"nan\"", "\"Infinity\"", "\"-inf\"", "\"+Inf\"", "\"1e400\"", "\"1e16\"", "\"-1e16\"",
        "\"9223372036854775807\"", "\"9223372036854775808\"", "\"-9223372036854775809\"", "\" 12 \"", "\"\"",
        "\"\u{0663}\"", "\"0x10\"", "\"123456789012345678901234567890\"", "\"-0\"", "\"1e-400\"", "\"0.45\"",
        "\"12abc\"", "\"2026-13-45 99:99:99\"", "\"9999-12-31 23:59:59\"", "\"0001-01-01 00:00:00\"",
        "\"-2026-01-01 00:00:00\"", "\"2026-06-01T10:00:00Z\"",
        // Wrong types.
        "true", "false", "null", "[]", "{}", "[1]", "{\"a\":1}", "[[[[[[1]]]]]]", "[\"NaN\"]",
    ]

    /// Header values where a number is expected: overflow, signs, padding, other numerals,
    /// floats, empty and blank.
    package static let absurdHeaderNumbers: [String] = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "-9999999999999999999", "18446744073709551616", "99999999999999999999999", "9223372036854776",
        "-9223372036854776", "9223372036854775", "0", "-0", "-1", "1", "+1", "0000001", "00000000000000000000001",
        "1e3", "1e18", "1.5", "NaN", "Infinity", "", "0x10", "\u{0661}\u{0662}", "1 2", "1,2", "abc",
        String(repeating: "9", count: 1000),
    ]

    /// Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, encoded
    /// surrogates, code points past U+10FFFF, bytes never used, truncated sequences.
    package static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
        [0xFE], [0xFF], [0xFF, 0xFE], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0x28],
    ]

    /// JSON string escapes that decode to nothing valid or to awkward scalars.
    package static let awkwardEscapes: [String] = [
        "\\ud800", "\\udc00", "\\ud800\\u0041", "\\udbff\\udfff", "\\u0000", "\\u001f", "\\uFFFF", "\\uFEFF",
        "\\u", "\\u12", "\\uZZZZ", "\\x41", "\\'", "\\", "\\ud83d\\ude00",
    ]

    /// One random byte-level change: flip, insert, delete, duplicate or move a range, splice an
    /// interesting token, or truncate.
    package static func mutate(_ bytes: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var out = bytes
        let tokens: [[UInt8]] = [
            Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array(",".utf8),
            Array(":".utf8), Array("\\".utf8), Array("\r\n".utf8), Array("\n".utf8), [0], [0xFF], [0xC3],
            Array("1e400".utf8), Array("-".utf8), Array("NaN".utf8), Array("null".utf8),
        ]
        let position = out.isEmpty ? 0 : random.integer(in: 0...out.count)
        switch random.integer(in: 0...6) {
        case 0 where !out.isEmpty:
            let i = min(position, out.count - 1)
            out[i] ^= UInt8(truncatingIfNeeded: 1 << random.integer(in: 0...7))
        case 1:
            out.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
        case 2 where !out.isEmpty:
            let i = min(position, out.count - 1)
            out.removeSubrange(i..<min(out.count, i + random.integer(in: 1...8)))
        case 3 where !out.isEmpty:
            let i = min(position, out.count - 1)
            let slice = out[i..<min(out.count, i + random.integer(in: 1...64))]
            out.insert(contentsOf: Array(slice), at: random.integer(in: 0...out.count))
        case 4:
            out.insert(contentsOf: tokens[random.integer(in: 0...(tokens.count - 1))], at: position)
        case 5:
            out = Array(out.prefix(position))
        default:
            out.insert(contentsOf: invalidUTF8[random.integer(in: 0...(invalidUTF8.count - 1))], at: position)
        }
        return out
    }

    /// `bytes` for a failure message: printable ASCII as is, CR/LF/TAB/quote/backslash escaped,
    /// every other byte as `\xHH`; cut after `limit` bytes with the total length said.
    package static func describe(_ bytes: [UInt8], limit: Int = 1_200) -> String {
        var out = ""
        for byte in bytes.prefix(limit) {
            switch byte {
            case 0x0D: out += "\\r"
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x5C: out += "\\\\"
            case 0x22: out += "\\\""
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        if bytes.count > limit { out += "... (\(bytes.count) bytes in all)" }
        return "\"" + out + "\""
    }
}

extension SeededRandom {
    /// A uniformly chosen element of a non-empty array.
    package mutating func pick<T>(_ items: [T]) -> T {
        items[integer(in: 0...(items.count - 1))]
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
