import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

/// `callback_routes` (schema version 6): the create -> callback mapping committed before a
/// create is forwarded.
struct CallbackRouteTests {
    func route(_ token: String, createdAt: EpochMillis = t0) -> CallbackRoute {
        CallbackRoute(
            token: token, family: .veo, model: "veo3_fast", callbackURL: "https://app/h?secret=s", createdAt: createdAt)
    }

    @Test func aRouteIsBoundOnceAndOnlyAnUnboundOneIsDeleted() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let results = try await writer.write { ctx in
                try ctx.insert(route("a"))
                try ctx.insert(route("b"))
                let first = try ctx.bindRoute(token: "a", taskID: "t1")
                let second = try ctx.bindRoute(token: "a", taskID: "t2")
                let unknown = try ctx.bindRoute(token: "zz", taskID: "t3")
                let boundKept = try ctx.deleteUnboundRoute(token: "a")
                let unboundGone = try ctx.deleteUnboundRoute(token: "b")
                return [first, second, unknown, boundKept, unboundGone]
            }
            #expect(results == [true, false, false, false, true])
            let stored = try await writer.write { ctx in (try ctx.route(token: "a"), try ctx.route(token: "b")) }
            #expect(stored.0 == CallbackRoute(
                token: "a", family: .veo, model: "veo3_fast", callbackURL: "https://app/h?secret=s", createdAt: t0,
                taskID: "t1"))
            #expect(stored.1 == nil)
            await writer.close()
        }
    }

    @Test func aTokenIsUnique() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write { ctx in try ctx.insert(route("a")) }
            await #expect(throws: StoreError.self) { try await writer.write { ctx in try ctx.insert(route("a")) } }
            await writer.close()
        }
    }

    @Test func retentionDeletesOldRoutesBoundOrNot() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let day: EpochMillis = 86_400_000
            try await writer.write { ctx in
                for i in 0..<5 { try ctx.insert(route("old\(i)", createdAt: t0 - 20 * day + Int64(i))) }
                try ctx.bindRoute(token: "old0", taskID: "t0")
                try ctx.insert(route("recent", createdAt: t0))
            }
            let report = try await writer.pruneOlderThan(t0 - 14 * day, batchSize: 2)
            #expect(report.deleted["callback_routes"] == 5)
            let reader = try StoreReader(path: path)
            #expect(try reader.db.rows("SELECT token FROM callback_routes") == [[.text("recent")]])
            await writer.close()
        }
    }

    /// A file written by the previous release (version 5) gains the table and keeps its rows.
    @Test func aVersion5FileIsMigrated() async throws {
        try await withTemporaryDatabase { path in
            let older = Schema.migrations.filter { $0.version <= 5 }
            var sql = older.map(\.sql).joined(separator: "\n")
            for m in older { sql += "\nINSERT INTO schema_migrations VALUES (\(m.version), '\(m.name)', 0);" }
            sql += "\nPRAGMA application_id = \(Schema.applicationID);"
            sql += "\nINSERT INTO meta VALUES ('k', 'v', 0);"
            try rawExecute(path, sql)

            let writer = try openWriter(path)
            #expect(writer.appliedMigrations == Schema.migrations.filter { $0.version > 5 }.map(\.version))
            try await writer.write { ctx in try ctx.insert(route("a")) }
            await writer.close()
            let reader = try StoreReader(path: path)
            #expect(try reader.meta("k") == "v")
            #expect(try reader.db.rows("SELECT count(*) FROM callback_routes") == [[.integer(1)]])
        }
    }
}
