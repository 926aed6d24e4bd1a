import KieWatchCore

/// How the store opens and writes its database; defaults are what `serve` uses.
package struct StoreConfiguration: Sendable {
    /// SQLite's `synchronous` setting for the write connection (WAL mode).
    package enum Synchronous: String, Sendable {
        /// In WAL mode a commit is written to the WAL (the OS page cache) before COMMIT returns,
        /// so a process crash (`kill -9`) never loses an acknowledged commit; only a power loss
        /// or kernel crash can lose the last commits. This meets kiewatch's contract ("kill -9
        /// loses no acknowledged webhook") without an fsync per batch.
        case normal = "NORMAL"
        /// The WAL is fsynced at every commit: acknowledged commits also survive power loss,
        /// at the cost of one fsync per group-committed batch.
        case full = "FULL"
    }

    /// Default `.normal`: see `Synchronous.normal` for why that is enough for kill -9.
    package var synchronous: Synchronous = .normal
    /// How long a connection waits on a lock held by another process before `SQLITE_BUSY`.
    package var busyTimeoutMillis: Int32 = 5_000
    /// The most submissions (records, closures) one transaction takes, so one huge backlog
    /// never holds the write lock long and acknowledgements keep flowing.
    package var maxBatchItems: Int = 4_096
    /// Most fire-and-forget records that may wait for the writer. Past it `record` drops and
    /// counts (`droppedRecords`) instead of growing without bound while the disk is stuck:
    /// 131,072 records is a few seconds of the heaviest traffic and ~25 MB at worst.
    /// Awaited writes are never dropped; their callers bound them.
    package var maxQueuedRecords: Int = 131_072
    /// Source of `applied_at` / `updated_at` timestamps the store writes itself.
    package var clock: any WallClock = SystemClock()
    /// Told about every error the writer cannot hand to a caller (a fire-and-forget record
    /// that failed, a batch whose COMMIT failed). The agent logs these; `storeErrors` counts them.
    package var onError: (@Sendable (StoreError) -> Void)?

    /// The writer connection's page cache, in KiB (readers keep SQLite's 2 MiB default).
    package var writerCacheKiB = 16_384
    /// WAL size (4 KiB pages) at which the writer checkpoints after a commit, which lets it
    /// restart the WAL; between those, the checkpointer thread copies frames every
    /// `checkpointInterval` (nil: no checkpointer, the writer does it all).
    package var walAutocheckpointPages = 8_000
    package var checkpointInterval: Duration? = .milliseconds(50)

    package init() {}
}
