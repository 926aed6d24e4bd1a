import CSQLite
import Foundation
import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

struct DatabaseTests {
    /// Allocation statistics would put one process-wide mutex around every SQLite allocation of
    /// every connection; the first open turns them off, so SQLite counts nothing.
    @Test func sqliteKeepsNoAllocationStatistics() throws {
        let tmp = try TemporaryDatabase()
        let db = try Database(path: tmp.path, mode: .readWrite)
        try db.execute("CREATE TABLE t(s TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT hex(randomblob(500)) FROM n")
        #expect(sqlite3_memory_used() == 0)
        #expect(sqlite3_memory_highwater(0) == 0)
    }

    @Test func bindsAndReadsEveryType() throws {
        let tmp = try TemporaryDatabase()
        let db = try Database(path: tmp.path, mode: .readWrite)
        try db.execute("CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB, n)")
        let insert = try db.cachedStatement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)")
        try insert.bind(Int64.min, at: 1)
        try insert.bind(2.5, at: 2)
        try insert.bind("héllo\u{0}wörld", at: 3)
        try insert.bind([0, 1, 255] as [UInt8], at: 4)
        try insert.bind(nil as String?, at: 5)
        try insert.step()
        insert.reset()
        let second = try db.cachedStatement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)")
        #expect(second === insert, "the cache hands back the prepared statement")
        try second.bind(7, at: 1)
        try second.bindNull(at: 2)
        try second.bind("", at: 3)
        try second.bind([UInt8](), at: 4)
        try second.bind(Int64(1), at: 5)
        try second.step()
        second.reset()

        let rows = try db.rows("SELECT i, d, s, b, n, typeof(s), typeof(b) FROM t ORDER BY rowid")
        #expect(rows[0] == [.integer(Int64.min), .real(2.5), .text("héllo\u{0}wörld"), .blob([0, 1, 255]), .null,
                            .text("text"), .text("blob")])
        // Empty text and blob stay empty values, not NULL.
        #expect(rows[1] == [.integer(7), .null, .text(""), .blob([]), .integer(1), .text("text"), .text("blob")])
    }

    @Test func errorsCarryCodeMessageAndSQL() throws {
        let tmp = try TemporaryDatabase()
        let db = try Database(path: tmp.path, mode: .readWrite)
        let error = try #require(throws: StoreError.self) { try db.execute("SELEC nonsense") }
        #expect(error.kind == .sqlite)
        #expect(error.primaryCode == SQLITE_ERROR)
        #expect(error.sql == "SELEC nonsense")
        #expect(error.description.contains("syntax error"))
        #expect(error.description.contains("SELEC nonsense"))
    }

    @Test func databaseAndWALAreMode0600() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            for i in 0..<100 { writer.record(call(ts: t0 + Int64(i))) }
            try await writer.flush()
            #expect(DatabaseFile.mode(of: path) == 0o600)
            #expect(DatabaseFile.mode(of: path + "-wal") == 0o600)
            #expect(DatabaseFile.mode(of: path + "-shm") == 0o600)
            await writer.close()
        }
    }

    @Test func existingWorldReadableFileIsTightened() async throws {
        try await withTemporaryDatabase { path in
            #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
            #expect(DatabaseFile.mode(of: path) == 0o644)
            let writer = try openWriter(path)
            #expect(DatabaseFile.mode(of: path) == 0o600)
            await writer.close()
        }
    }

    /// SQLite tightens an existing `-wal` or `-shm` only while it is empty; one with content
    /// (what a kill -9 leaves) it opens as it finds it. Left at 0644 (an older build, a copy,
    /// another umask), each would stay readable to others, recent pages and all.
    @Test func existingWALAndSHMAreTightenedToo() async throws {
        let original = try TemporaryDatabase()
        let first = try openWriter(original.path)
        first.record(call(ts: t0))
        try await first.flush()
        // The files as a crash would leave them: committed rows still in the WAL.
        try await withTemporaryDatabase { path in
            for suffix in ["", "-wal", "-shm"] {
                try FileManager.default.copyItem(atPath: original.path + suffix, toPath: path + suffix)
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path + suffix)
                #expect(DatabaseFile.size(of: path + suffix) > 0)
                #expect(DatabaseFile.mode(of: path + suffix) == 0o644)
            }
            let writer = try openWriter(path)
            for suffix in ["", "-wal", "-shm"] {
                #expect(DatabaseFile.mode(of: path + suffix) == 0o600, "\(suffix)")
            }
            writer.record(call(ts: t0 + 1))
            try await writer.flush()
            #expect(try StoreReader(path: path).db.rows("SELECT count(*) FROM api_calls") == [[.integer(2)]])
            await writer.close()
        }
        await first.close()
    }

    @Test(arguments: [
        Array("this is a text file, not a database".utf8),
        [UInt8](repeating: 0xAB, count: 8_192),
    ])
    func nonSQLiteFileGivesAClearError(contents: [UInt8]) async throws {
        try await withTemporaryDatabase { path in
            #expect(FileManager.default.createFile(atPath: path, contents: Data(contents)))
            let error = try #require(throws: StoreError.self) { try StoreWriter(path: path) }
            #expect(error.kind == .notADatabase)
            #expect(error.description.contains("\(path) is not a kiewatch database: file is not a database"))
            let readerError = try #require(throws: StoreError.self) { try StoreReader(path: path) }
            #expect(readerError.kind == .notADatabase)
        }
    }
}
