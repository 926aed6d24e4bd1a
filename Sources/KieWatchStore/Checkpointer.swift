import CSQLite
import Dispatch
import Foundation

/// Copies committed WAL frames into the database file on its own thread and connection, so
/// the writer thread spends its time on commits, not on checkpoint I/O and fsyncs.
///
/// It runs a PASSIVE checkpoint every `interval`: it never waits on the writer nor blocks it.
/// Only the writer can restart the WAL (at the start of a transaction, once every frame is in
/// the database), so the writer keeps SQLite's own autocheckpoint at
/// `StoreConfiguration.walAutocheckpointPages` as the backstop that bounds the WAL under a
/// sustained flood; by then this thread has already copied most frames, so the writer's
/// checkpoint is short.
final class Checkpointer: Sendable {
    private let stopSignal = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Opens a second connection to `path` (already created and migrated by the writer).
    init(path: String, configuration: StoreConfiguration, interval: Duration) throws {
        let db = try Database(path: path, mode: .readWrite, configuration: configuration)
        let owned = ConnectionBox(db)
        let nanos = interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        let onError = configuration.onError
        let thread = Thread { [self] in
            var lastCode = SQLITE_OK
            while stopSignal.wait(timeout: .now() + .nanoseconds(Int(nanos))) == .timedOut {
                // A busy pass is simply retried on the next tick, and the writer's own
                // checkpoint keeps the WAL bounded meanwhile. A real failure (I/O error, full
                // disk) is reported once when it starts, not every tick while it lasts.
                let code = sqlite3_wal_checkpoint_v2(owned.db.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                let failed = code != SQLITE_OK && code & 0xFF != SQLITE_BUSY && code & 0xFF != SQLITE_LOCKED
                if failed && code != lastCode {
                    onError?(StoreError(
                        kind: .sqlite, code: code,
                        message: "background checkpoint failed: \(String(cString: sqlite3_errmsg(owned.db.handle)))"))
                }
                lastCode = failed ? code : SQLITE_OK
            }
            owned.close()
            stopped.signal()
        }
        thread.name = "kiewatch-store-checkpointer"
        thread.start()
    }

    /// Stops the thread and closes its connection; returns once both are done.
    func stop() {
        stopSignal.signal()
        stopped.wait()
    }
}

/// The checkpointer's connection, handed to its thread once and used only there.
private final class ConnectionBox: @unchecked Sendable {
    private(set) var db: Database!
    init(_ db: Database) { self.db = db }
    func close() { db = nil }
}
