import CSQLite

/// The one error type of KieWatchStore: what failed, the SQLite (or errno) code, and the SQL.
///
/// Modelled on GRDB's `DatabaseError`: a caller can switch on `kind`, and a human reading a
/// log line gets everything from `description` (what failed, the code by name, the statement).
package struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// SQLite returned an error code; `code` is the extended result code.
        case sqlite
        /// The file exists but is not a SQLite database, or is another program's database.
        case notADatabase
        /// The file was written by a newer kiewatch (its schema version is unknown here).
        case schemaTooNew
        /// A read-only connection found a schema older than this build; `serve` migrates it.
        case schemaTooOld
        /// A system call on the database file failed; `code` is the errno.
        case fileSystem
        /// `readOnlyQuery` refused a statement (a write, ATTACH, a pragma write, two statements).
        case refused
        /// A read-only query ran past its time limit.
        case timeLimit
        /// The writer is closed; nothing more can be submitted.
        case closed
    }

    package var kind: Kind
    /// SQLite extended result code for `.sqlite`, errno for `.fileSystem`, else 0.
    package var code: Int32
    package var message: String
    package var sql: String?

    package init(kind: Kind, code: Int32 = 0, message: String, sql: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// An error from a SQLite return code, with the connection's message when it has one.
    package init(code: Int32, connection: OpaquePointer?, sql: String?) {
        let detail: String
        if let connection, let cMessage = sqlite3_errmsg(connection) {
            detail = String(cString: cMessage)
        } else {
            detail = String(cString: sqlite3_errstr(code))
        }
        self.init(kind: .sqlite, code: code, message: detail, sql: sql)
    }

    /// The primary result code (`SQLITE_BUSY`, `SQLITE_FULL`, ...) without the extended bits.
    package var primaryCode: Int32 { code & 0xFF }

    package var description: String {
        var text = message
        switch kind {
        case .sqlite:
            text += " (SQLite error \(code): \(String(cString: sqlite3_errstr(code))))"
        case .fileSystem:
            text += " (errno \(code))"
        default:
            break
        }
        if let sql { text += " [SQL: \(sql)]" }
        return text
    }
}

/// The single place where SQLite return codes become errors.
///
/// `SQLITE_OK`, `SQLITE_ROW` and `SQLITE_DONE` are success and are returned so `step` can branch
/// on them; anything else throws a `StoreError` carrying the connection's message and the SQL.
@discardableResult
@inline(__always)
package func check(_ code: Int32, connection: OpaquePointer?, sql: String? = nil) throws(StoreError) -> Int32 {
    switch code {
    case SQLITE_OK, SQLITE_ROW, SQLITE_DONE:
        return code
    default:
        throw StoreError(code: code, connection: connection, sql: sql)
    }
}
