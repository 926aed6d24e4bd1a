import KieWatchCore

/// A command line split into the command's name, its arguments and the `--json` flag.
///
/// Words are separated by spaces or tabs; there is no quoting, because no argument needs
/// spaces except the statement of `sql`, which keeps the rest of the line verbatim. `--json`
/// may appear anywhere among the words (for `sql` only as the last word, since `--json`
/// could be part of a SQL comment).
struct ConsoleInvocation {
    /// Lower-cased command name; nil for a blank line.
    var name: String?
    var arguments: ConsoleArguments
    var json: Bool

    init(line: String) {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        let nameEnd = trimmed.firstIndex { $0 == " " || $0 == "\t" } ?? trimmed.endIndex
        let name = trimmed[..<nameEnd].lowercased()
        var rest = String(trimmed[nameEnd...])
        var json = false
        if name == "sql" {
            var words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.last == "--json" {
                json = true
                words.removeLast()
                rest = String(rest.trimmingBlanks.dropLast("--json".count))
            }
            self.arguments = ConsoleArguments(words: words.map(String.init), raw: rest.trimmingBlanks)
        } else {
            var words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            json = words.contains("--json")
            words.removeAll { $0 == "--json" }
            self.arguments = ConsoleArguments(words: words, raw: words.joined(separator: " "))
        }
        self.name = name.isEmpty ? nil : name
        self.json = json
    }
}

/// A command's arguments: positional words and `key=value` filters.
struct ConsoleArguments {
    /// Every word after the command name, `--json` removed.
    var words: [String]
    /// The text after the command name as typed (for `sql`).
    var raw: String

    /// The positional words (those without `=`).
    var positional: [String] { words.filter { !$0.contains("=") } }

    /// The `key=value` words; refuses keys not in `allowed`, repeated keys and empty values.
    func filters(allowed: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<equals]).lowercased()
            let value = String(word[word.index(after: equals)...])
            guard allowed.contains(key) else {
                throw ConsoleCommandError(
                    "unknown filter '\(key)'" + (allowed.isEmpty ? "" : " (known: \(allowed.joined(separator: ", ")))"))
            }
            guard !value.isEmpty else { throw ConsoleCommandError("'\(key)=' needs a value") }
            guard result[key] == nil else { throw ConsoleCommandError("'\(key)=' is given twice") }
            result[key] = value
        }
        return result
    }

    /// Refuses positional words beyond `max`.
    func expectPositional(max: Int) throws {
        let extra = positional.dropFirst(max)
        if let first = extra.first { throw ConsoleCommandError("unexpected argument '\(first)'") }
    }

    /// A look-back window (`15m`, `24h`): positive, at most 90 days (however it is written:
    /// `since=` with a huge number, or many parts adding up, is refused, never overflows).
    static func window(_ text: String?, default fallback: Int64) throws -> Int64 {
        guard let text else { return fallback }
        let millis: Int64
        switch DurationText.read(text) {
        case .millis(let ms) where ms > 0: millis = ms
        case .tooLong: millis = .max
        case .millis, .invalid:
            throw ConsoleCommandError("'\(text)' is not a window: use a duration such as 15m, 1h or 24h")
        }
        guard millis <= 90 * 86_400_000 else {
            throw ConsoleCommandError("window '\(text)' is longer than 90d")
        }
        return millis
    }

    /// A row limit: 1...1000.
    static func limit(_ text: String?, default fallback: Int) throws -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...1_000).contains(value) else {
            throw ConsoleCommandError("'limit=\(text)' must be a number from 1 to 1000")
        }
        return value
    }
}

extension String {
    var trimmingBlanks: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
