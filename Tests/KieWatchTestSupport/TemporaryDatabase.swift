import Foundation

/// A unique directory under the system temp dir holding a database path, removed (with the
/// database, its -wal and -shm) when the value is released.
///
/// Tests use `withTemporaryDatabase { path in ... }`, or keep a `TemporaryDatabase` alive for
/// the duration of a test when the path must outlive a closure.
package final class TemporaryDatabase: Sendable {
    /// The directory that holds the database; created with mode 0700.
    package let directory: String
    /// `<directory>/kiewatch.db`; nothing exists there until something opens it.
    package let path: String

    package init(name: String = "kiewatch.db") throws {
        let base = NSTemporaryDirectory()
        var template = Array((base.hasSuffix("/") ? base : base + "/").utf8CString.dropLast())
        template += Array("kiewatch-test-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        directory = String(cString: created)
        path = directory + "/" + name
    }

    deinit {
        // Best effort: a test that already failed should not also crash on cleanup, and a
        // leftover directory under the temp dir is harmless.
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with the path of a fresh database file location, removed afterwards.
package func withTemporaryDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
    let database = try TemporaryDatabase()
    defer { withExtendedLifetime(database) {} }
    return try await body(database.path)
}
