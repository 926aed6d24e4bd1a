import CSQLite

/// One SQLite connection, in the GRDB manner: explicitly not Sendable, used by one serial owner
/// (the writer thread, or one reader), with a cache of prepared statements keyed by SQL.
///
/// Opened with `SQLITE_OPEN_NOMUTEX`: SQLite's per-connection mutex is pointless when the type
/// system already guarantees one owner at a time.
package final class Database {
    package enum Mode: Sendable {
        /// The writer's connection: creates the file (mode 0600), WAL, foreign keys on.
        case readWrite
        /// `SQLITE_OPEN_READONLY` plus `PRAGMA query_only`: for readers and the console.
        case readOnly
    }

    package let path: String
    package let mode: Mode
    package let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    private var slotCache = [Statement?](repeating: nil, count: StatementSlot.allCases.count)

    /// Process-wide SQLite settings, applied once before the first connection initializes the
    /// library: allocation statistics off, since kiewatch reads none of them and keeping them
    /// takes one process-wide mutex around every allocation of every connection; no page-cache
    /// block allocated up front per connection (20 pages, 86 KiB, for each of the agent's six),
    /// pages come as they are used.
    private static let librarySettings: Void = {
        _ = kiewatch_sqlite3_config_memstatus(0)
        _ = kiewatch_sqlite3_config_pagecache_initial_lines(0)
    }()

    /// Opens (and for `.readWrite`, creates) the database at `path` and applies the pragmas.
    ///
    /// A file that is not SQLite throws `StoreError.Kind.notADatabase`, never crashes.
    package init(path: String, mode: Mode, configuration: StoreConfiguration = StoreConfiguration()) throws {
        _ = Self.librarySettings
        if mode == .readWrite {
            try DatabaseFile.createPrivate(at: path)
        }
        var connection: OpaquePointer?
        // The file already exists for the writer, so no SQLITE_OPEN_CREATE: SQLite must not
        // create it with its own (umask-dependent) mode.
        let flags = (mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            let error = StoreError(
                kind: .sqlite, code: code,
                message: "cannot open database \(path): "
                    + (connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))))
            sqlite3_close_v2(connection)
            throw error
        }
        self.path = path
        self.mode = mode
        self.handle = connection
        // From here on, a throw runs deinit, which closes the connection.
        sqlite3_extended_result_codes(connection, 1)
        try check(sqlite3_busy_timeout(connection, configuration.busyTimeoutMillis), connection: connection)
        try probeHeader()
        switch mode {
        case .readWrite:
            let journal = try rows("PRAGMA journal_mode = WAL").first?.first?.string
            guard journal?.lowercased() == "wal" else {
                throw StoreError(kind: .sqlite, code: SQLITE_ERROR,
                                 message: "cannot switch \(path) to WAL (journal_mode is \(journal ?? "unknown"))")
            }
            try execute("PRAGMA synchronous = \(configuration.synchronous.rawValue)")
            try execute("PRAGMA foreign_keys = ON")
            // Keep the WAL from staying huge after a burst; checkpoints truncate it to this.
            try execute("PRAGMA journal_size_limit = 67108864")
            try execute("PRAGMA wal_autocheckpoint = \(configuration.walAutocheckpointPages)")
            // The writer touches a task's row and its index pages for every callback: a page
            // cache that holds the hot part of the tasks table saves a read per page.
            try execute("PRAGMA cache_size = -\(configuration.writerCacheKiB)")
            // A batch redone with a SAVEPOINT per closure (after one failed) keeps a statement
            // journal that spills to a temporary file past 64 KiB: keep it in memory.
            try execute("PRAGMA temp_store = MEMORY")
            try SQLFunctions.register(on: connection)
        case .readOnly:
            try execute("PRAGMA query_only = 1")
            try SQLFunctions.register(on: connection)
        }
    }

    deinit {
        // Finalize cached statements first; close_v2 defers the close until any statement
        // still alive elsewhere is finalized, so this can never leak or crash.
        statementCache.removeAll()
        slotCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Reads the header so a non-SQLite file fails here with a clear message.
    private func probeHeader() throws {
        do {
            _ = try rows("SELECT count(*) FROM sqlite_schema")
        } catch let error as StoreError where error.primaryCode == SQLITE_NOTADB {
            throw StoreError(kind: .notADatabase, code: error.code,
                             message: "\(path) is not a kiewatch database: file is not a database")
        }
    }

    // MARK: Statements

    /// Prepares a statement that the caller owns (not cached).
    package func prepare(_ sql: String, persistent: Bool = false) throws -> Statement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        try check(sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil), connection: handle, sql: sql)
        guard let statement else {
            throw StoreError(kind: .sqlite, code: SQLITE_MISUSE, message: "empty statement", sql: sql)
        }
        return Statement(handle: statement, sql: sql)
    }

    /// A prepared statement for `sql` from the cache (prepared once per connection), reset and
    /// with cleared bindings.
    package func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            statement.clearBindings()
            return statement
        }
        let statement = try prepare(sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// The prepared statement of a hot-path slot, reset (bindings are kept: slot users bind
    /// every parameter each time). An array index instead of hashing the SQL text per row.
    @inline(__always)
    package func statement(_ slot: StatementSlot) throws -> Statement {
        if let statement = slotCache[slot.rawValue] {
            statement.reset()
            return statement
        }
        let statement = try prepare(slot.sql, persistent: true)
        slotCache[slot.rawValue] = statement
        return statement
    }

    /// Runs one or more statements separated by `;` (migrations, pragmas). Not cached.
    package func execute(_ sql: String) throws {
        var utf8 = Array(sql.utf8CString)
        try utf8.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafePointer<CChar>? = UnsafePointer(buffer.baseAddress!)
            while let current = cursor, current.pointee != 0 {
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                try check(sqlite3_prepare_v2(handle, current, -1, &statement, &tail), connection: handle, sql: sql)
                cursor = tail
                guard let statement else { continue }  // whitespace or a comment
                defer { sqlite3_finalize(statement) }
                while try check(sqlite3_step(statement), connection: handle, sql: sql) == SQLITE_ROW {}
            }
        }
    }

    /// Runs a cached statement with arguments; returns the number of rows changed.
    @discardableResult
    package func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try cachedStatement(sql).execute(arguments)
        return changes
    }

    /// Runs a cached query with arguments and returns all its rows.
    package func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        try cachedStatement(sql).rows(arguments)
    }

    // MARK: Connection state

    package var changes: Int { Int(sqlite3_changes64(handle)) }
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// False when SQLite rolled a transaction back on its own (SQLITE_FULL, I/O errors).
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
}
