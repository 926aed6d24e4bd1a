import Foundation

/// A strict reader of `/metrics` output in Prometheus text 0.0.4 or OpenMetrics 1.0: every line
/// must be a comment of a known kind or a well-formed sample (label values with only the
/// `\\`, `\"` and `\n` escapes), so a test can trust what it reads and fail on the line that is wrong.
struct LiveExposition {
    struct Label: Equatable {
        var name: String
        var value: String
    }

    struct Exemplar {
        var labels: [Label]
        var value: Double
        var timestamp: Double?
        /// The exemplar text after ` # `, as exposed.
        var raw: String
    }

    struct Sample {
        var name: String
        var labels: [Label]
        var value: Double
        var exemplar: Exemplar?
        var line: String
        var lineNumber: Int

        func label(_ name: String) -> String? { labels.first { $0.name == name }?.value }
        /// Labels other than `le`, as `a="x",b="y"`: identifies a histogram's series.
        var seriesKey: String {
            labels.filter { $0.name != "le" }.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",")
        }
    }

    struct Family {
        var name: String
        var type: String?
        var help: String?
        var unit: String?
        var samples: [Sample] = []
    }

    struct ParseError: Error, CustomStringConvertible {
        var lineNumber: Int
        var line: String
        var problem: String
        var description: String { "line \(lineNumber): \(problem): \(line)" }
    }

    let openMetrics: Bool
    /// Families in exposition order.
    private(set) var families: [Family] = []
    /// Whether the text ended with `# EOF` (OpenMetrics).
    private(set) var sawEOF = false

    init(_ text: String, openMetrics: Bool) throws {
        self.openMetrics = openMetrics
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        for (index, line) in lines.enumerated() {
            let number = index + 1
            func fail(_ problem: String) -> ParseError { ParseError(lineNumber: number, line: line, problem: problem) }
            if sawEOF { throw fail("text after # EOF") }
            if line.isEmpty {
                if openMetrics { throw fail("empty line") }
                continue
            }
            if line.hasPrefix("#") {
                try comment(line, fail: fail)
                continue
            }
            var sample = try Self.sample(line, number: number, openMetrics: openMetrics, fail: fail)
            sample.lineNumber = number
            guard var family = families.last, Self.belongs(sample.name, to: family, openMetrics: openMetrics) else {
                throw fail("sample \(sample.name) does not belong to the family declared before it")
            }
            family.samples.append(sample)
            families[families.count - 1] = family
        }
        if openMetrics, !sawEOF { throw ParseError(lineNumber: lines.count, line: lines.last ?? "", problem: "no # EOF at the end") }
    }

    private mutating func comment(_ line: String, fail: (String) -> ParseError) throws {
        if line == "# EOF" {
            guard openMetrics else { throw fail("# EOF in Prometheus text") }
            sawEOF = true
            return
        }
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "#", ["HELP", "TYPE", "UNIT"].contains(parts[1]) else {
            if openMetrics { throw fail("unknown comment") }
            return  // Prometheus text allows free comments
        }
        let name = parts[2]
        guard Self.isMetricName(name) else { throw fail("bad metric name") }
        let rest = parts.count > 3 ? parts[3] : ""
        if families.last?.name != name {
            if families.contains(where: { $0.name == name }) { throw fail("family \(name) declared twice") }
            families.append(Family(name: name))
        }
        var family = families[families.count - 1]
        guard family.samples.isEmpty else { throw fail("metadata after samples") }
        switch parts[1] {
        case "HELP":
            guard family.help == nil else { throw fail("second HELP") }
            family.help = try Self.unescape(rest, allowQuote: !openMetrics, fail: fail)
        case "TYPE":
            guard family.type == nil else { throw fail("second TYPE") }
            let types = openMetrics
                ? ["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"]
                : ["counter", "gauge", "histogram", "summary", "untyped"]
            guard types.contains(rest) else { throw fail("unknown type \(rest)") }
            family.type = rest
        default:
            guard openMetrics else { throw fail("# UNIT in Prometheus text") }
            guard family.unit == nil else { throw fail("second UNIT") }
            guard name.hasSuffix("_" + rest) else { throw fail("name does not end with its unit") }
            family.unit = rest
        }
        families[families.count - 1] = family
    }

    /// Whether a sample named `name` is part of `family` (suffixes per type and format).
    static func belongs(_ name: String, to family: Family, openMetrics: Bool) -> Bool {
        let suffixes: [String]
        switch family.type {
        case "counter": suffixes = openMetrics ? ["_total", "_created"] : [""]
        case "histogram": suffixes = ["_bucket", "_sum", "_count"] + (openMetrics ? ["_created"] : [])
        case "summary": suffixes = ["", "_sum", "_count"] + (openMetrics ? ["_created"] : [])
        default: suffixes = [""]
        }
        return suffixes.contains { family.name + $0 == name }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || isASCIILetter(first) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == ":" || isASCIILetter($0) || ("0"..."9").contains($0) }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
    }

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }

    /// HELP text: `\\` and `\n` escapes; OpenMetrics also escapes `"` (`\"`), which Prometheus
    /// text leaves as is (`allowQuote`).
    private static func unescape(_ text: String, allowQuote: Bool, fail: (String) -> ParseError) throws -> String {
        var result = ""
        var escaped = false
        for c in text {
            if escaped {
                switch c {
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "\"" where !allowQuote: result.append("\"")
                default: throw fail("bad escape \\\(c) in HELP")
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                if c == "\"" && !allowQuote { throw fail("unescaped \" in HELP") }
                result.append(c)
            }
        }
        if escaped { throw fail("HELP ends in a backslash") }
        return result
    }

    // MARK: Samples

    private static func sample(_ line: String, number: Int, openMetrics: Bool, fail: (String) -> ParseError) throws -> Sample {
        var scanner = Scanner(Array(line.unicodeScalars))
        let name = scanner.take { $0 == "_" || $0 == ":" || isASCIILetter($0) || ("0"..."9").contains($0) }
        guard isMetricName(name) else { throw fail("bad metric name") }
        var labels: [Label] = []
        if scanner.peek == "{" {
            labels = try labelSet(&scanner, openMetrics: openMetrics, fail: fail)
        }
        guard scanner.consume(" ") else { throw fail("no space before the value") }
        let valueText = scanner.take { $0 != " " }
        guard let value = parseNumber(valueText) else { throw fail("bad value '\(valueText)'") }
        var exemplar: Exemplar?
        if scanner.consume(" ") {
            if scanner.peek != "#" {
                let timestamp = scanner.take { $0 != " " }
                guard Double(timestamp) != nil else { throw fail("bad timestamp '\(timestamp)'") }
                _ = scanner.consume(" ")
            }
            if scanner.peek == "#" {
                guard openMetrics else { throw fail("exemplar in Prometheus text") }
                let start = scanner.index
                guard scanner.consume("#"), scanner.consume(" "), scanner.peek == "{" else { throw fail("malformed exemplar") }
                let exemplarLabels = try labelSet(&scanner, openMetrics: true, fail: fail)
                guard scanner.consume(" ") else { throw fail("exemplar: no space before its value") }
                let exemplarValueText = scanner.take { $0 != " " }
                guard let exemplarValue = Double(exemplarValueText) else { throw fail("exemplar: bad value") }
                var timestamp: Double?
                if scanner.consume(" ") {
                    let text = scanner.take { $0 != " " }
                    guard let t = Double(text) else { throw fail("exemplar: bad timestamp '\(text)'") }
                    timestamp = t
                }
                let length = exemplarLabels.reduce(0) { $0 + $1.name.unicodeScalars.count + $1.value.unicodeScalars.count }
                guard length <= 128 else { throw fail("exemplar labels longer than 128 characters") }
                exemplar = Exemplar(
                    labels: exemplarLabels, value: exemplarValue, timestamp: timestamp,
                    raw: String(String.UnicodeScalarView(scanner.scalars[start..<scanner.index])))
            }
        }
        guard scanner.atEnd else { throw fail("unexpected text after the sample") }
        return Sample(name: name, labels: labels, value: value, exemplar: exemplar, line: line, lineNumber: number)
    }

    private static func labelSet(_ scanner: inout Scanner, openMetrics: Bool, fail: (String) -> ParseError) throws -> [Label] {
        guard scanner.consume("{") else { throw fail("expected {") }
        var labels: [Label] = []
        while !scanner.consume("}") {
            let name = scanner.take { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
            guard isLabelName(name) else { throw fail("bad label name '\(name)'") }
            guard !labels.contains(where: { $0.name == name }) else { throw fail("label \(name) repeated") }
            guard scanner.consume("="), scanner.consume("\"") else { throw fail("label \(name): expected =\"") }
            var value = ""
            while true {
                guard let c = scanner.next() else { throw fail("label \(name): unterminated value") }
                if c == "\"" { break }
                if c == "\\" {
                    switch scanner.next() {
                    case "\\": value.unicodeScalars.append("\\")
                    case "\"": value.unicodeScalars.append("\"")
                    case "n": value.unicodeScalars.append("\n")
                    default: throw fail("label \(name): bad escape")
                    }
                } else {
                    value.unicodeScalars.append(c)
                }
            }
            labels.append(Label(name: name, value: value))
            if scanner.consume(",") {
                if openMetrics, scanner.peek == "}" { throw fail("trailing comma in labels") }
            } else if scanner.peek != "}" {
                throw fail("expected , or } after label \(name)")
            }
        }
        return labels
    }

    private static func parseNumber(_ text: String) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: text.contains(where: { $0.isLetter && $0 != "e" && $0 != "E" }) ? nil : Double(text)
        }
    }

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        var index = 0
        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }
        var atEnd: Bool { index >= scalars.count }
        var peek: Unicode.Scalar? { atEnd ? nil : scalars[index] }
        mutating func next() -> Unicode.Scalar? {
            defer { index += 1 }
            return peek
        }
        mutating func consume(_ c: Unicode.Scalar) -> Bool {
            guard peek == c else { return false }
            index += 1
            return true
        }
        mutating func take(while predicate: (Unicode.Scalar) -> Bool) -> String {
            let start = index
            while let c = peek, predicate(c) { index += 1 }
            return String(String.UnicodeScalarView(scalars[start..<index]))
        }
    }

    // MARK: Lookups

    func family(_ name: String) -> Family? { families.first { $0.name == name } }

    /// Every sample named exactly `name` (e.g. `kiewatch_tasks_created_total`).
    func samples(_ name: String) -> [Sample] { families.flatMap(\.samples).filter { $0.name == name } }

    /// The sum of the samples named `name` whose labels include `matching`.
    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples(name).filter { sample in matching.allSatisfy { sample.label($0.key) == $0.value } }.reduce(0) { $0 + $1.value }
    }
}
