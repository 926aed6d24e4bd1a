#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The console's command history: bounded, without empty lines or consecutive duplicates,
/// persisted one command per line.
///
/// Persistence never stands between the engineer and the prompt: a missing, unreadable or
/// garbled file loads as an empty history, and a failed save is reported to the caller
/// who may ignore it. The file is written 0600 because `sql` lines can reveal what someone
/// was investigating.
public struct History: Sendable, Equatable {
    public static let defaultMaxEntries = 1_000

    public private(set) var entries: [String] = []
    public let maxEntries: Int

    public init(maxEntries: Int = History.defaultMaxEntries, entries: [String] = []) {
        precondition(maxEntries > 0, "a history needs room for at least one entry")
        self.maxEntries = maxEntries
        for entry in entries { add(entry) }
    }

    /// `$HOME/.kiewatch_history`, or nil when there is no home to put it in.
    public static func defaultPath(environment: [String: String]) -> String? {
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home.hasSuffix("/") ? home + ".kiewatch_history" : home + "/.kiewatch_history"
    }

    public var count: Int { entries.count }

    /// Appends a line unless it is blank or repeats the previous entry; drops the oldest
    /// entries beyond `maxEntries`. Newlines are flattened so one entry stays one file line.
    public mutating func add(_ line: String) {
        let flat = line.contains(where: \.isNewline)
            ? String(line.map { $0.isNewline ? " " : $0 }) : line
        guard !flat.allSatisfy(\.isWhitespace), flat != entries.last else { return }
        entries.append(flat)
        if entries.count > maxEntries { entries.removeFirst(entries.count - maxEntries) }
    }

    /// Loads a history file; anything that goes wrong yields what could be read, possibly nothing.
    public static func load(from path: String, maxEntries: Int = History.defaultMaxEntries) -> History {
        var history = History(maxEntries: maxEntries)
        guard let bytes = try? readFile(path) else { return history }
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            history.add(String(decoding: line, as: UTF8.self))
        }
        return history
    }

    /// Writes the history to `path` with mode 0600, replacing the file atomically so a crash
    /// mid-write leaves the previous history rather than half of it.
    public func save(to path: String) throws(ConsoleError) {
        var text = entries.joined(separator: "\n")
        if !text.isEmpty { text += "\n" }
        let temporary = path + ".tmp.\(getpid())"
        let fd = Int32(try retryingEINTR("cannot write history file \(temporary)") {
            Int(open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600))
        })
        do {
            // The umask cannot widen 0600, but a leftover temporary file could be wider.
            _ = fchmod(fd, 0o600)
            try writeAll(fd: fd, Array(text.utf8))
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let error = errno
            unlink(temporary)
            throw ConsoleError(.io, "cannot save history to \(path): \(errnoDescription(error))", errno: error)
        }
    }

    private static func readFile(_ path: String) throws(ConsoleError) -> [UInt8] {
        let fd = Int32(try retryingEINTR("open \(path)") { Int(open(path, O_RDONLY | O_CLOEXEC)) })
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try retryingEINTR("read \(path)") {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
            // A history file is small; a huge one is not ours and only its tail matters.
            if result.count > 16 * 1024 * 1024 { result.removeFirst(result.count - 8 * 1024 * 1024) }
        }
    }
}
