import CSQLite
import KieWatchCore

/// The answer to the console's `sql` command.
package struct QueryResult: Sendable, Equatable {
    package var columns: [String]
    /// Values as the console prints them; nil is SQL NULL.
    package var rows: [[String?]]
    /// More rows existed than `maxRows`.
    package var truncated: Bool
}

extension StoreReader {
    /// Runs one user-supplied read-only statement (the console's `sql SELECT ...`).
    ///
    /// Four independent walls, because this is SQL typed by a human on a live database:
    /// the connection is `SQLITE_OPEN_READONLY` with `query_only`; an authorizer allows only
    /// reading (SELECT, reads, functions, introspection pragmas) and denies ATTACH/DETACH,
    /// every write and every pragma that sets something; `sqlite3_stmt_readonly` must agree;
    /// and a second statement after the first is refused rather than silently ignored.
    /// A progress handler stops the query after `timeLimitMillis`.
    package func readOnlyQuery(sql: String, timeLimitMillis: Int = 2_000, maxRows: Int = 1_000) throws -> QueryResult {
        let handle = db.handle
        // Set by the authorizer when it allowed a reporting pragma: SQLite's
        // `sqlite3_stmt_readonly` calls every PRAGMA "not read-only", even `PRAGMA journal_mode`.
        let allowedPragma = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        allowedPragma.initialize(to: 0)
        sqlite3_set_authorizer(handle, readOnlyAuthorizer, allowedPragma)
        let deadline = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        deadline.initialize(to: monotonicNanos() + UInt64(max(timeLimitMillis, 1)) * 1_000_000)
        // Checked every 1,000 VM instructions: cheap, and a runaway query stops within microseconds.
        sqlite3_progress_handler(handle, 1_000, progressDeadline, deadline)
        defer {
            // Removed only after the statement is finalized: step may re-prepare (schema change),
            // which consults the authorizer again.
            sqlite3_progress_handler(handle, 0, nil, nil)
            sqlite3_set_authorizer(handle, nil, nil)
            deadline.deallocate()
            allowedPragma.deallocate()
        }
        let statement = try prepareSingle(sql)
        guard statement.isReadOnly || allowedPragma.pointee != 0 else {
            throw StoreError(kind: .refused, message: "refused: sql may only read", sql: sql)
        }
        let columns = statement.columnNames
        var rows: [[String?]] = []
        var truncated = false
        do {
            while try statement.step() {
                if rows.count == maxRows {
                    truncated = true
                    break
                }
                rows.append((0..<columns.count).map { statement.value(at: $0).displayString })
            }
        } catch let error as StoreError where error.primaryCode == SQLITE_INTERRUPT {
            throw StoreError(kind: .timeLimit, code: error.code,
                             message: "query stopped after its time limit of \(timeLimitMillis) ms", sql: sql)
        }
        return QueryResult(columns: columns, rows: rows, truncated: truncated)
    }

    /// Prepares the first statement of `sql` and refuses anything but comments after it.
    private func prepareSingle(_ sql: String) throws -> Statement {
        try sql.withCString { text in
            var first: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v2(db.handle, text, -1, &first, &tail)
            if code == SQLITE_AUTH {
                throw StoreError(
                    kind: .refused, code: code,
                    message: "refused: sql may only read (no writes, ATTACH/DETACH or pragma changes)", sql: sql)
            }
            try check(code, connection: db.handle, sql: sql)
            guard let first else {
                throw StoreError(kind: .refused, message: "refused: empty statement", sql: sql)
            }
            let statement = Statement(handle: first, sql: sql)
            if let tail, tail.pointee != 0 {
                var second: OpaquePointer?
                let tailCode = sqlite3_prepare_v2(db.handle, tail, -1, &second, nil)
                if second != nil || tailCode != SQLITE_OK {
                    sqlite3_finalize(second)
                    throw StoreError(kind: .refused, message: "refused: only one statement is allowed", sql: sql)
                }
            }
            return statement
        }
    }
}

/// Pragmas that only report; allowed with a name argument (`table_info(api_calls)`).
private let introspectionPragmas: Set<String> = [
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "foreign_key_check", "integrity_check", "quick_check",
]

/// Settings pragmas that are read-only only when called without an argument.
private let settingPragmas: Set<String> = [
    "application_id", "user_version", "schema_version", "data_version", "journal_mode", "synchronous",
    "page_count", "page_size", "freelist_count", "max_page_count", "encoding", "auto_vacuum",
    "database_list", "compile_options", "function_list", "pragma_list", "module_list", "collation_list",
    "foreign_keys", "query_only", "busy_timeout", "cache_size", "wal_autocheckpoint",
]

/// The authorizer for `readOnlyQuery`: an allow-list, so an action SQLite adds later is denied.
private func readOnlyAuthorizer(
    _ context: UnsafeMutableRawPointer?, _ action: Int32, _ first: UnsafePointer<CChar>?,
    _ second: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?, _ trigger: UnsafePointer<CChar>?
) -> Int32 {
    switch action {
    case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE:
        return SQLITE_OK
    case SQLITE_PRAGMA:
        guard let first else { return SQLITE_DENY }
        let name = String(cString: first).lowercased()
        guard introspectionPragmas.contains(name) || (second == nil && settingPragmas.contains(name)) else {
            return SQLITE_DENY
        }
        context?.storeBytes(of: 1, as: Int32.self)
        return SQLITE_OK
    default:
        return SQLITE_DENY
    }
}

/// Progress handler: a non-zero answer interrupts the statement (`SQLITE_INTERRUPT`).
private func progressDeadline(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    return monotonicNanos() > context.load(as: UInt64.self) ? 1 : 0
}
