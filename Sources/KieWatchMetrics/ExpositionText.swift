/// The lexical rules of the exposition formats: names, escaping, and number spelling.
///
/// Everything here runs at registration or series creation, never per scrape, except the
/// number writers, which `ExpositionEncoder` calls for every value.
enum ExpositionText {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, shared by Prometheus text and OpenMetrics.
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, minus the `__` prefix Prometheus reserves for itself.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// Appends `name="value",...` (no braces) with label values escaped.
    static func appendLabelPairs(names: [String], values: [String], to out: inout [UInt8]) {
        for (index, name) in names.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: #"=""#.utf8)
            appendEscaped(values[index], quotes: true, to: &out)
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Escapes `\`, newline and, when `quotes`, `"`.
    ///
    /// Label values need all three in both formats. HELP needs `"` escaped only in
    /// OpenMetrics, whose grammar excludes a bare double quote from escaped strings;
    /// Prometheus text would print the backslash literally.
    static func appendEscaped(_ text: String, quotes: Bool, to out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\"") where quotes: out.append(contentsOf: #"\""#.utf8)
            default: out.append(byte)
            }
        }
    }

    // MARK: Numbers

    /// Writes a sample value: integers without a decimal point when exact, `NaN`, `+Inf`,
    /// `-Inf`, and Swift's shortest round-trip spelling otherwise.
    ///
    /// Both formats accept this spelling (OpenMetrics: integers MUST NOT carry a point,
    /// floats need a point or an exponent, which Swift's `description` always gives).
    static func appendValue(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            out.append(contentsOf: (value > 0 ? "+Inf" : "-Inf").utf8)
        } else if value == value.rounded(.towardZero), abs(value) < 9_007_199_254_740_992 {
            // Below 2^53 every integer is exact, so the integer spelling round-trips.
            let integer = Int64(value)
            if integer < 0 { out.append(UInt8(ascii: "-")) }
            appendInteger(integer.magnitude, to: &out)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    /// Writes a Unix timestamp in seconds with millisecond precision (`1700000000.123`), the
    /// precision Prometheus stores, without the allocation `description` costs: every
    /// OpenMetrics series carries a `_created` timestamp, so this runs thousands of times per
    /// scrape.
    static func appendTimestamp(_ seconds: Double, to out: inout [UInt8]) {
        guard seconds >= 0, seconds < 9e12 else { return appendValue(seconds, to: &out) }
        let milliseconds = UInt64((seconds * 1000).rounded())
        appendInteger(milliseconds / 1000, to: &out)
        var fraction = milliseconds % 1000
        guard fraction > 0 else { return }
        out.append(UInt8(ascii: "."))
        var divisor: UInt64 = 100
        while fraction > 0 {
            out.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    /// Writes an unsigned integer in decimal without allocating: digits are produced
    /// backwards into a stack buffer, then appended in one copy.
    static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var rest = value
            var index = 20
            while rest > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index...]))
        }
    }

    /// Spells a bucket bound the way the Go client does (`%g`, shortest): `0.005`, `1`,
    /// `2.5`, `1e+06`; for OpenMetrics with `.0` added to integral spellings (`1.0`), as
    /// the spec's "Canonical Numbers" asks so that `le` label values stay identical across
    /// exposers.
    static func canonicalBound(_ value: Double, openMetrics: Bool) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        var spelled = goShortestG(value)
        if openMetrics, !spelled.contains("."), !spelled.contains("e") { spelled += ".0" }
        return spelled
    }

    /// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, rebuilt from Swift's shortest digits.
    static func goShortestG(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (negative, digits, pointPosition) = shortestDigits(value)
        let sign = negative ? "-" : ""
        // Go uses %e when the decimal exponent is below -4 or, for shortest output, at
        // least 6 (it fixes the precision at 6 for this decision): 100000 but 1e+06.
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let magnitude = abs(exponent)
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= digits.count {
            return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
        }
        let split = digits.index(digits.startIndex, offsetBy: pointPosition)
        return sign + digits[..<split] + "." + digits[split...]
    }

    /// The shortest round-trip decimal digits of a finite non-zero double, as
    /// `0.<digits> × 10^pointPosition`, read back from Swift's `description`.
    private static func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, pointPosition: Int) {
        var text = Substring(value.magnitude.description)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var integerPart = text
        var fraction: Substring = ""
        if let dot = text.firstIndex(of: ".") {
            integerPart = text[..<dot]
            fraction = text[text.index(after: dot)...]
        }
        var digits = String(integerPart) + fraction
        var pointPosition = integerPart.count + exponent
        while digits.first == "0" { digits.removeFirst(); pointPosition -= 1 }
        while digits.last == "0" { digits.removeLast() }
        return (value < 0, digits, pointPosition)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}

extension ExpositionText {
    /// `name{labelPairs} ` (or `name ` without labels): what a sample line starts with.
    static func samplePrefix(_ name: String, _ labelPairs: [UInt8]) -> [UInt8] {
        var prefix = Array(name.utf8)
        if !labelPairs.isEmpty {
            prefix.append(UInt8(ascii: "{"))
            prefix.append(contentsOf: labelPairs)
            prefix.append(UInt8(ascii: "}"))
        }
        prefix.append(UInt8(ascii: " "))
        return prefix
    }
}
