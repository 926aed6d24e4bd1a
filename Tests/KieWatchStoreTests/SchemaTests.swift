import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

struct SchemaTests {
    @Test func migratesAnEmptyFileAndReopensUnchanged() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            #expect(writer.appliedMigrations == Schema.migrations.map(\.version))
            try await writer.write { try $0.setMeta("credits_remaining", "1234") }
            await writer.close()

            let again = try openWriter(path)
            #expect(again.appliedMigrations.isEmpty, "an up-to-date file gets no migration")
            await again.close()

            let reader = try StoreReader(path: path)
            #expect(try Schema.version(of: reader.db) == Schema.latestVersion)
            #expect(try reader.db.rows("SELECT count(*) FROM schema_migrations") == [[.integer(Int64(Schema.migrations.count))]])
            #expect(try reader.db.rows("PRAGMA application_id") == [[.integer(Int64(Schema.applicationID))]])
            #expect(try reader.meta("credits_remaining") == "1234")
        }
    }

    @Test func newerSchemaIsRefusedClearly() async throws {
        try await withTemporaryDatabase { path in
            try await openWriter(path).close()
            try rawExecute(path, "INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")

            let error = try #require(throws: StoreError.self) { try openWriter(path) }
            #expect(error.kind == .schemaTooNew)
            #expect(error.description.contains("schema version 99, newer than this kiewatch"))
            let readerError = try #require(throws: StoreError.self) { try StoreReader(path: path) }
            #expect(readerError.kind == .schemaTooNew)
        }
    }

    @Test func anotherProgramsDatabaseIsRefused() async throws {
        try await withTemporaryDatabase { path in
            try rawExecute(path, "CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT)")
            let error = try #require(throws: StoreError.self) { try openWriter(path) }
            #expect(error.kind == .notADatabase)
            #expect(error.description.contains("is not a kiewatch database"))
            // Nothing was added to the foreign file.
            let db = try Database(path: path, mode: .readOnly)
            #expect(try db.rows("SELECT count(*) FROM sqlite_schema") == [[.integer(1)]])
        }
    }

    @Test func readerRefusesAFileWithoutTheSchema() async throws {
        try await withTemporaryDatabase { path in
            try rawExecute(path, "PRAGMA user_version = 0")  // an empty SQLite file
            let error = try #require(throws: StoreError.self) { try StoreReader(path: path) }
            #expect(error.kind == .schemaTooOld)
        }
    }
}
