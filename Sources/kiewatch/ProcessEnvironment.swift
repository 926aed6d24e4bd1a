import KieWatchCore

#if canImport(Glibc)
import Glibc
#endif

/// The process environment as a dictionary.
func environment() -> [String: String] {
    var out: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        pointer += 1
    }
    return out
}

/// A whole text file, or an error saying why not.
func readTextFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw ConfigError(String(cString: strerror(errno))) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw ConfigError("not UTF-8 text") }
    return text
}
