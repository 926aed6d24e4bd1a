import CSQLite

/// Custom SQL functions kiewatch registers on its connections.
package enum SQLFunctions {
    /// Registers `kw_buckets_add(a, b)`: element-wise sum of two bucket-count BLOBs
    /// (little-endian UInt32, see `LatencyBuckets`), so a rollup upsert merges histograms in
    /// SQL without reading the row back. NULL counts as empty.
    ///
    /// Public to the package so the ingest benchmark's raw-SQLite baseline does the same work.
    package static func register(on connection: OpaquePointer) throws {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
        try check(
            sqlite3_create_function_v2(connection, "kw_buckets_add", 2, flags, nil, bucketsAdd, nil, nil, nil),
            connection: connection, sql: "kw_buckets_add")
    }
}

private func bucketsAdd(
    _ context: OpaquePointer?, _ count: Int32, _ arguments: UnsafeMutablePointer<OpaquePointer?>?
) {
    guard let arguments else { return }
    func bytes(_ value: OpaquePointer?) -> UnsafeRawBufferPointer {
        guard sqlite3_value_type(value) == SQLITE_BLOB, let base = sqlite3_value_blob(value) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base, count: Int(sqlite3_value_bytes(value)))
    }
    let left = bytes(arguments[0])
    let right = bytes(arguments[1])
    let merged = LatencyBuckets.add(left, right)
    merged.withUnsafeBytes { buffer in
        sqlite3_result_blob(context, buffer.baseAddress, Int32(buffer.count), SQLITE_TRANSIENT)
    }
}
