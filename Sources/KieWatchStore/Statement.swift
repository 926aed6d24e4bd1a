import CSQLite

/// `SQLITE_TRANSIENT`: SQLite copies bound text and blobs before the bind call returns, so a
/// Swift buffer only has to live for the duration of the call.
@usableFromInline
let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A prepared statement that owns its `sqlite3_stmt` and finalizes it in `deinit`.
///
/// Not Sendable: it belongs to the connection that prepared it, and a connection has one
/// serial owner. Parameter indexes are 1-based and column indexes 0-based, as in SQLite.
package final class Statement {
    package let handle: OpaquePointer
    package let sql: String

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private var connection: OpaquePointer? { sqlite3_db_handle(handle) }

    /// Whether SQLite itself classifies this statement as not writing the database.
    package var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    package var columnCount: Int { Int(sqlite3_column_count(handle)) }

    package var columnNames: [String] {
        (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
    }

    // MARK: Running

    /// Advances to the next row: `true` when a row is available, `false` when done.
    @discardableResult
    @inline(__always)
    package func step() throws -> Bool {
        try check(sqlite3_step(handle), connection: connection, sql: sql) == SQLITE_ROW
    }

    /// Resets the statement so it can run again and releases its read snapshot; bindings stay.
    @inline(__always)
    package func reset() {
        // The return code repeats the last step's error, which `step` already threw.
        sqlite3_reset(handle)
    }

    package func clearBindings() {
        sqlite3_clear_bindings(handle)
    }

    /// Runs a statement that returns no rows, with the given arguments, and resets it.
    package func execute(_ arguments: [SQLValue] = []) throws {
        defer { reset() }
        try bind(arguments)
        while try step() {}
    }

    /// Runs a query and returns every row as values; resets the statement afterwards.
    package func rows(_ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        defer { reset() }
        try bind(arguments)
        var rows: [[SQLValue]] = []
        let count = columnCount
        while try step() {
            rows.append((0..<count).map { value(at: $0) })
        }
        return rows
    }

    // MARK: Binding

    package func bind(_ arguments: [SQLValue]) throws {
        for (offset, argument) in arguments.enumerated() {
            try bind(argument, at: Int32(offset + 1))
        }
    }

    package func bind(_ value: SQLValue, at index: Int32) throws {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let v): try bind(v, at: index)
        case .real(let v): try bind(v, at: index)
        case .text(let v): try bind(v, at: index)
        case .blob(let v): try bind(v, at: index)
        }
    }

    @inline(__always)
    package func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value), connection: connection, sql: sql)
    }

    @inline(__always)
    package func bind(_ value: Int, at index: Int32) throws {
        try bind(Int64(value), at: index)
    }

    @inline(__always)
    package func bind(_ value: Bool, at index: Int32) throws {
        try bind(Int64(value ? 1 : 0), at: index)
    }

    @inline(__always)
    package func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(handle, index, value), connection: connection, sql: sql)
    }

    /// Binds UTF-8 text with its byte length (no `strlen`, embedded NULs kept).
    @inline(__always)
    package func bind(_ value: String, at index: Int32) throws {
        var value = value
        let code = value.withUTF8 { utf8 -> Int32 in
            // An empty buffer may have a nil base address, which SQLite would bind as NULL.
            guard let base = utf8.baseAddress else {
                return sqlite3_bind_text(handle, index, "", 0, SQLITE_TRANSIENT)
            }
            let text = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
            return sqlite3_bind_text(handle, index, text, Int32(utf8.count), SQLITE_TRANSIENT)
        }
        try check(code, connection: connection, sql: sql)
    }

    @inline(__always)
    package func bind(_ value: [UInt8], at index: Int32) throws {
        let code = value.withUnsafeBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_zeroblob(handle, index, 0)
            }
            return sqlite3_bind_blob(handle, index, base, Int32(bytes.count), SQLITE_TRANSIENT)
        }
        try check(code, connection: connection, sql: sql)
    }

    @inline(__always)
    package func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(handle, index), connection: connection, sql: sql)
    }

    @inline(__always)
    package func bind(_ value: Int64?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    @inline(__always)
    package func bind(_ value: Int?, at index: Int32) throws {
        if let value { try bind(Int64(value), at: index) } else { try bindNull(at: index) }
    }

    @inline(__always)
    package func bind(_ value: Double?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    @inline(__always)
    package func bind(_ value: String?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    // MARK: Reading the current row

    @inline(__always)
    package func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    @inline(__always)
    package func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    @inline(__always)
    package func int(at column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    @inline(__always)
    package func double(at column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// Text of a column; `""` for NULL (use `optionalString` when NULL means something).
    package func string(at column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    package func blob(at column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }

    package func optionalInt64(at column: Int32) -> Int64? {
        isNull(at: column) ? nil : int64(at: column)
    }

    package func optionalInt(at column: Int32) -> Int? {
        isNull(at: column) ? nil : int(at: column)
    }

    package func optionalDouble(at column: Int32) -> Double? {
        isNull(at: column) ? nil : double(at: column)
    }

    package func optionalString(at column: Int32) -> String? {
        isNull(at: column) ? nil : string(at: column)
    }

    package func value(at column: Int) -> SQLValue {
        let index = Int32(column)
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(int64(at: index))
        case SQLITE_FLOAT: return .real(double(at: index))
        case SQLITE_TEXT: return .text(string(at: index))
        case SQLITE_BLOB: return .blob(blob(at: index))
        default: return .null
        }
    }
}
