/// A simple `key = value` configuration file: one entry a line, `#` comments, blank lines
/// ignored, values optionally quoted. Per-model deadlines live here (`deadline.sora-2-pro = 12m`).
public struct ConfigFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: String
        public var line: Int
    }

    public private(set) var entries: [String: Entry]
    public let path: String

    public init(path: String = "<config>", entries: [String: Entry] = [:]) {
        self.path = path
        self.entries = entries
    }

    public subscript(key: String) -> String? { entries[key]?.value }

    /// Entries whose key starts with `prefix`, keyed by the rest (`deadline.` → model ids).
    public func entries(withPrefix prefix: String) -> [String: Entry] {
        var out: [String: Entry] = [:]
        for (key, entry) in entries where key.hasPrefix(prefix) {
            out[String(key.dropFirst(prefix.count))] = entry
        }
        return out
    }

    /// Where a key came from, for error messages: `kiewatch.conf:12: retention`.
    public func location(of key: String) -> String {
        guard let entry = entries[key] else { return "\(path): \(key)" }
        return "\(path):\(entry.line): \(key)"
    }

    public static func parse(_ text: String, path: String = "<config>") throws(ConfigError) -> ConfigFile {
        var entries: [String: Entry] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(rawLine).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError("\(path):\(lineNumber): expected 'key = value', got '\(line)'")
            }
            let key = String(line[..<eq]).trimmingSpaces
            var value = String(line[line.index(after: eq)...]).trimmingSpaces
            guard !key.isEmpty, !key.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw ConfigError("\(path):\(lineNumber): expected a key without spaces before '='")
            }
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.indices.first(where: {
                value[$0] == "#" && $0 > value.startIndex && value[value.index(before: $0)] == " "
            }) {
                value = String(value[..<hash]).trimmingSpaces
            }
            if entries[key] != nil {
                throw ConfigError("\(path):\(lineNumber): '\(key)' is set twice")
            }
            entries[key] = Entry(value: value, line: lineNumber)
        }
        return ConfigFile(path: path, entries: entries)
    }
}
