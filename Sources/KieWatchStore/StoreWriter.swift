import Dispatch
import Foundation
import KieWatchCore
import Synchronization

/// The only thing that writes the database: one dedicated thread owns the write connection
/// and commits whatever producers submitted, many submissions per transaction (group commit).
///
/// Producers on any thread or task either fire and forget (`record(_:)`: the row is committed
/// with the next batch) or `write { ctx in ... }` and resume only after the COMMIT that made
/// their work durable. The thread takes everything queued (up to `maxBatchItems`), runs it in
/// one `BEGIN IMMEDIATE ... COMMIT`, then signals the waiters; while it commits, new work
/// queues up for the next batch, so one fsync/commit is shared by everyone who arrived
/// meanwhile. Submissions are applied in queue order, so each producer's order is kept.
///
/// Failure model:
/// - a `write` closure that throws is rolled back alone and its caller gets the error; the rest
///   of the batch commits. The batch runs first without per-closure SAVEPOINTs; a throw rolls
///   it back and runs it again with them, so a closure can run twice: keep its effects inside
///   the `WriteContext`;
/// - a fire-and-forget record that fails to insert is dropped and counted (`storeErrors`,
///   `droppedRecords`, `onError`);
/// - the rollup upserts, written once per batch after every item, are no exception: should
///   they fail, the batch runs again isolated, where each closure's and each record's rollup
///   deltas are written inside that item's own SAVEPOINT, so a delta that cannot be written
///   fails its own item as above and nothing else. (`RollupAccumulator` also sanitizes what
///   it is given, so this is the second line of defence, not the first.)
/// - a failed COMMIT (disk full, I/O error) rolls the batch back: every waiter in it gets the
///   error, its records are counted as dropped, `storeErrors` increments, and the writer keeps
///   serving later batches.
///
/// Lifecycle: `init` opens and migrates the file and starts the thread; `close()` drains,
/// commits, closes the connection and stops the thread. Call `close()`: the thread keeps the
/// writer alive until then.
package final class StoreWriter: Sendable {
    package let path: String
    private let configuration: StoreConfiguration
    private let queue = Mutex(Queue())
    /// Wakes the writer thread; signalled once per sleep (see `Queue.writerSleeping`), so a
    /// busy writer costs producers no syscall.
    private let wakeup = DispatchSemaphore(value: 0)
    private let errorCounter = Atomic<Int>(0)
    private let droppedCounter = Atomic<Int>(0)
    private let batchCounter = Atomic<Int>(0)
    private let checkpointer: Checkpointer?
    /// Non-terminal tasks per model as committed: counted from the file at open, then moved by
    /// every committed `WriteContext.save` (see `openTasksByModel`).
    private let openTasks: Mutex<[String: Int]>

    /// Versions the opening migration applied (empty when the file was already up to date).
    package let appliedMigrations: [Int]

    /// Opens (creating with mode 0600) and migrates the database, then starts the writer thread.
    package init(path: String, configuration: StoreConfiguration = StoreConfiguration()) throws {
        self.path = path
        self.configuration = configuration
        let db = try Database(path: path, mode: .readWrite, configuration: configuration)
        appliedMigrations = try Schema.migrate(db, now: configuration.clock.now())
        openTasks = Mutex(try Self.countOpenTasks(path: path, configuration: configuration))
        checkpointer = try configuration.checkpointInterval.map {
            try Checkpointer(path: path, configuration: configuration, interval: $0)
        }
        let owned = WriterThreadState(db: db, clock: configuration.clock)
        let thread = Thread { [self] in self.run(owned) }
        thread.name = "kiewatch-store-writer"
        thread.start()
    }

    // MARK: Counters (read by /metrics)

    /// Store errors so far: failed commits, failed fire-and-forget inserts, failed rollbacks
    /// (`kiewatch_store_errors_total`).
    package var storeErrors: Int { errorCounter.load(ordering: .relaxed) }
    /// Fire-and-forget records that were never committed (insert or commit failed, queue full
    /// (`maxQueuedRecords`), writer closed).
    package var droppedRecords: Int { droppedCounter.load(ordering: .relaxed) }
    /// Transactions committed so far.
    package var committedBatches: Int { batchCounter.load(ordering: .relaxed) }
    /// Submissions waiting for the writer thread.
    package var queueDepth: Int { queue.withLock { $0.items.count } }

    /// Non-terminal tasks per model, as of the last COMMIT (models with none are left out).
    ///
    /// Kept in memory rather than asked of the file: an index by model over open tasks would
    /// cost every callback that finishes a task one more index delete and one more page in the
    /// WAL (a sixth of the writer's work per callback), for a gauge read every few seconds.
    package var openTasksByModel: [String: Int] { openTasks.withLock { $0 } }

    /// Counted before the writer thread starts, so nothing commits meanwhile; on a connection
    /// of its own, closed after, so the pages this walk reads do not stay in the writer's cache.
    private static func countOpenTasks(path: String, configuration: StoreConfiguration) throws -> [String: Int] {
        let db = try Database(path: path, mode: .readOnly, configuration: configuration)
        var counts: [String: Int] = [:]
        for row in try db.rows("SELECT model, count(*) FROM tasks WHERE state NOT IN ('success', 'fail') GROUP BY model") {
            if let model = row[0].string, let count = row[1].int64, count > 0 { counts[model] = Int(count) }
        }
        return counts
    }

    private func publish(openTaskChanges changes: [String: Int]) {
        guard !changes.isEmpty else { return }
        openTasks.withLock { counts in
            for (model, delta) in changes where delta != 0 {
                let count = counts[model, default: 0] + delta
                counts[model] = count > 0 ? count : nil
            }
        }
    }

    // MARK: Fire and forget

    /// Queues an API call row (and its rollup update) for the next batch.
    @discardableResult
    package func record(_ call: APICallRecord) -> Bool { submitRecord(.call(call)) }

    /// Queues a webhook row. Deliveries that must be acknowledged durably go through `write`.
    @discardableResult
    package func record(_ webhook: WebhookRecord) -> Bool { submitRecord(.webhook(webhook)) }

    @discardableResult
    package func record(_ recovery: RecoveryRecord) -> Bool { submitRecord(.recovery(recovery)) }

    // MARK: Durable writes

    /// Runs `body` on the writer thread inside the next batch and returns its result once the
    /// batch has COMMITTED (durably acknowledged).
    ///
    /// If `body` throws, only its own changes roll back and the error is rethrown here. If the
    /// COMMIT fails, the COMMIT's error is thrown. Cancelling the calling task does not cancel
    /// the write. `body` runs on the writer thread: keep it short and never block in it; it may
    /// run twice when another closure of its batch throws (see the failure model), so it must
    /// not act outside `WriteContext`.
    package func write<T: Sendable>(_ body: @escaping @Sendable (WriteContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            write(body) { continuation.resume(with: $0) }
        }
    }

    /// `write` for callers that are not tasks (an event loop answering inline): `completion`
    /// gets the result after the COMMIT, or the error, exactly once, on the writer thread
    /// (keep it short: hand the rest to another thread).
    package func write<T: Sendable>(
        _ body: @escaping @Sendable (WriteContext) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let job = Job(
            run: { context in
                let value = try body(context)
                return { completion(.success(value)) }
            },
            fail: { completion(.failure($0)) })
        if !submit(.job(job)) { completion(.failure(Self.closedError)) }
    }

    /// Returns once everything submitted before the call is committed; throws the COMMIT
    /// error if the batch holding it failed.
    package func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = submit(.barrier { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            })
            if !accepted { continuation.resume(throwing: Self.closedError) }
        }
    }

    /// Commits everything queued, closes the connection and stops the thread. Later
    /// submissions are refused (`StoreError.Kind.closed`). A call while a close is under way
    /// returns when that close has finished (a forced stop must not exit in the middle of
    /// the last commit); once closed, at once.
    package func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            close { continuation.resume() }
        }
    }

    /// `close()` for callers that are not tasks (an `init` that failed after opening the
    /// writer): `completion` runs once the writer has closed, on the writer thread.
    package func close(then completion: @escaping @Sendable () -> Void) {
        let wake: Bool? = queue.withLock { q in
            switch q.state {
            case .running:
                q.state = .closing
                q.closeWaiters.append(completion)
                q.items.append(.stop { [self] in finishClose() })
                return q.takeWakeup()
            case .closing:
                q.closeWaiters.append(completion)
                return false
            case .closed:
                return nil
            }
        }
        switch wake {
        case nil: completion()
        case true?: wakeup.signal()
        case false?: break
        }
    }

    /// The connection is closed and the thread is ending: tell everyone who asked.
    private func finishClose() {
        let waiters = queue.withLock { q -> [@Sendable () -> Void] in
            q.state = .closed
            defer { q.closeWaiters.removeAll() }
            return q.closeWaiters
        }
        for waiter in waiters { waiter() }
    }

    // MARK: Queue

    private static let closedError = StoreError(kind: .closed, message: "the store writer is closed")

    private func submitRecord(_ item: Item) -> Bool {
        let accepted = submit(item, isRecord: true)
        if !accepted { droppedCounter.add(1, ordering: .relaxed) }
        return accepted
    }

    @inline(__always)
    private func submit(_ item: sending Item, isRecord: Bool = false) -> Bool {
        let wake: Bool? = queue.withLock { q in
            guard q.state == .running else { return nil }
            if isRecord && q.items.count >= configuration.maxQueuedRecords { return nil }
            q.items.append(item)
            return q.takeWakeup()
        }
        guard let wake else { return false }
        if wake { wakeup.signal() }
        return true
    }

    /// Blocks the writer thread until there is work, then takes the whole queue in O(1) by
    /// swapping arrays (the emptied `buffer` becomes the new queue storage).
    private func takeAll(into buffer: inout [Item]) {
        while true {
            let gotWork = queue.withLock { q -> Bool in
                if q.items.isEmpty {
                    q.writerSleeping = true
                    return false
                }
                swap(&q.items, &buffer)
                return true
            }
            if gotWork { return }
            wakeup.wait()
        }
    }

    // MARK: Writer thread

    /// Takes everything queued and commits it in transactions of at most `maxBatchItems`, so a
    /// backlog is worked off in bounded transactions whose waiters are acknowledged one batch
    /// at a time, and the queue is never shifted.
    private func run(_ owned: WriterThreadState) {
        let limit = max(configuration.maxBatchItems, 1)
        var taken: [Item] = []
        while true {
            takeAll(into: &taken)
            var start = 0
            while start < taken.count {
                let end = min(start + limit, taken.count)
                let stop = process(taken[start..<end], owned)
                start = end
                if let stop {
                    // The checkpointer's connection goes first, so the writer's close is the
                    // last one and checkpoints and removes the WAL.
                    checkpointer?.stop()
                    owned.close()
                    stop()
                    return
                }
            }
            // A burst's buffer (up to `maxBatchItems` items of 168 bytes) is handed back rather
            // than kept for the next; the few dozen a busy writer takes each time are kept.
            taken.removeAll(keepingCapacity: taken.count <= 256)
        }
    }

    /// Runs one batch in one transaction; returns the stop callback if the batch held one.
    ///
    /// Optimistically first: jobs run without their own SAVEPOINT, whose statement journal
    /// copies every page a job touches (a fifth of the writer's work per callback), and the
    /// rollups of the whole batch are upserted once at the end. Should a job, a record or that
    /// upsert fail alone (the transaction still open), the batch is rolled back and run again
    /// `isolated`: each job and each record in its own SAVEPOINT together with the upserts of
    /// its rollup deltas, so only the failing one is lost. A failure that ends the transaction
    /// fails the batch either way.
    private func process(
        _ batch: ArraySlice<Item>, _ owned: WriterThreadState, isolated: Bool = false
    ) -> (@Sendable () -> Void)? {
        let db = owned.db!
        var stop: (@Sendable () -> Void)?
        var completions: [@Sendable () -> Void] = []
        var settled = Set<Int>()  // jobs whose caller already got its own error
        var records = 0           // fire-and-forget records in this batch
        var writes = 0            // records and jobs: anything that needs a transaction
        for item in batch {
            switch item {
            case .call, .webhook, .recovery: records += 1; writes += 1
            case .job: writes += 1
            case .barrier, .stop: break
            }
        }
        let needsTransaction = writes > 0
        var droppedAlone = 0      // records whose own insert failed (already counted)
        do {
            if needsTransaction { try db.statement(TransactionSQL.begin).execute() }
            for (index, item) in batch.enumerated() {
                switch item {
                case .call(let call):
                    droppedAlone += try insertRecord(owned, isolated: isolated) {
                        _ = try RecordSQL.insert(call, into: db)
                    } rollup: { $0.add(call) }
                case .webhook(let webhook):
                    droppedAlone += try insertRecord(owned, isolated: isolated) {
                        _ = try RecordSQL.insert(webhook, into: db)
                    } rollup: { $0.add(webhook) }
                case .recovery(let recovery):
                    droppedAlone += try insertRecord(owned, isolated: isolated) {
                        _ = try RecordSQL.insert(recovery, into: db)
                    } rollup: { $0.add(recovery) }
                case .job(let job):
                    if let done = try runJob(job, owned, isolated: isolated) {
                        completions.append(done)
                    } else {
                        settled.insert(index)
                    }
                case .barrier(let notify):
                    completions.append { notify(nil) }
                case .stop(let callback):
                    stop = callback
                }
            }
            if needsTransaction {
                let openTaskChanges = owned.rollups.takeOpenTasks()
                try owned.rollups.write(to: db)
                try db.statement(TransactionSQL.commit).execute()
                batchCounter.add(1, ordering: .relaxed)
                publish(openTaskChanges: openTaskChanges)
            }
        } catch {
            owned.rollups.removeAll()
            if !isolated && db.isInTransaction {
                // One job or record failed alone: undo the batch, then redo it isolated.
                rollback(db)
                if !db.isInTransaction { return process(batch, owned, isolated: true) }
            }
            let storeError = error as? StoreError
                ?? StoreError(kind: .sqlite, code: 0, message: "write batch failed: \(error)")
            report(storeError)
            rollback(db)
            // Every record of the batch is lost; those dropped one by one are already counted.
            droppedCounter.add(records - droppedAlone, ordering: .relaxed)
            for (index, item) in batch.enumerated() where !settled.contains(index) {
                switch item {
                case .job(let job): job.fail(storeError)
                case .barrier(let notify): notify(storeError)
                case .call, .webhook, .recovery, .stop: break
                }
            }
            return stop
        }
        for completion in completions { completion() }
        return stop
    }

    /// Inserts one fire-and-forget record and notes its `rollup` deltas: in the batch's
    /// accumulator, or, when `isolated`, written at once with the row in a SAVEPOINT of its own,
    /// so that its own failure (row or rollup) drops only that record. A failure that ended
    /// the transaction (SQLite rolls back by itself on SQLITE_FULL, I/O errors) aborts the
    /// whole batch. Returns 1 when the record was dropped, else 0.
    @inline(__always)
    private func insertRecord(
        _ owned: WriterThreadState, isolated: Bool, _ insert: () throws -> Void,
        rollup: (inout RollupAccumulator) -> Void = { _ in }
    ) throws -> Int {
        guard isolated else {
            try insert()
            rollup(&owned.rollups)
            return 0
        }
        let db = owned.db!
        try db.statement(TransactionSQL.savepoint).execute()
        do {
            try insert()
            owned.itemRollups.removeAll()
            rollup(&owned.itemRollups)
            try owned.itemRollups.write(to: db)
            try db.statement(TransactionSQL.release).execute()
            return 0
        } catch {
            guard db.isInTransaction else { throw error }
            try db.statement(TransactionSQL.rollbackToSavepoint).execute()
            try db.statement(TransactionSQL.release).execute()
            droppedCounter.add(1, ordering: .relaxed)
            report(error as? StoreError ?? StoreError(kind: .sqlite, message: "record insert failed: \(error)"))
            return 1
        }
    }

    /// Runs a job: when `isolated`, in a SAVEPOINT together with the upserts of its rollup
    /// deltas, and returns nil when it failed alone, in its closure or in those upserts (its
    /// caller has been told). Throws when the failure ended the whole transaction, or, not
    /// isolated, on any failure. Returns the job's completion.
    private func runJob(_ job: Job, _ owned: WriterThreadState, isolated: Bool) throws -> (@Sendable () -> Void)? {
        let db = owned.db!
        let context = owned.context!
        context.rollups.removeAll()
        guard isolated else {
            let done = try job.run(context)
            context.rollups.apply(to: &owned.rollups)
            return done
        }
        try db.statement(TransactionSQL.savepoint).execute()
        do {
            let done = try job.run(context)
            owned.itemRollups.removeAll()
            context.rollups.apply(to: &owned.itemRollups)
            try owned.itemRollups.write(to: db)
            // Open-task changes are published after the COMMIT: they join the batch's, and
            // only once this job's SAVEPOINT is released.
            let openTaskChanges = owned.itemRollups.takeOpenTasks()
            try db.statement(TransactionSQL.release).execute()
            for (model, delta) in openTaskChanges { owned.rollups.openTasks(model: model, delta: delta) }
            return done
        } catch {
            guard db.isInTransaction else { throw error }
            try db.statement(TransactionSQL.rollbackToSavepoint).execute()
            try db.statement(TransactionSQL.release).execute()
            job.fail(error)
            return nil
        }
    }

    private func rollback(_ db: Database) {
        guard db.isInTransaction else { return }
        do {
            try db.statement(TransactionSQL.rollback).execute()
        } catch {
            report(error as? StoreError ?? StoreError(kind: .sqlite, message: "rollback failed: \(error)"))
        }
    }

    private func report(_ error: StoreError) {
        errorCounter.add(1, ordering: .relaxed)
        configuration.onError?(error)
    }
}

extension StoreWriter {
    /// One unit of work in the queue.
    enum Item: Sendable {
        case call(APICallRecord)
        case webhook(WebhookRecord)
        case recovery(RecoveryRecord)
        case job(Job)
        /// `flush()`: called with nil after the batch commits, or with the batch's error.
        case barrier(@Sendable ((any Error)?) -> Void)
        /// `close()`: called after the last batch committed and the connection closed.
        case stop(@Sendable () -> Void)
    }

    /// A `write` closure, type-erased: `run` returns what to do after COMMIT (resume the
    /// caller with the value); `fail` resumes it with an error. Exactly one of the two resumes.
    struct Job: Sendable {
        let run: @Sendable (WriteContext) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    enum State: Sendable { case running, closing, closed }

    struct Queue: Sendable {
        var items: [Item] = []
        var state: State = .running
        /// Callers of `close` waiting for the connection to be closed.
        var closeWaiters: [@Sendable () -> Void] = []
        /// The writer thread found the queue empty and is (about to be) waiting on `wakeup`.
        var writerSleeping = false

        /// Whether this submission must wake the writer; clears the flag so only one signal
        /// is sent per sleep.
        mutating func takeWakeup() -> Bool {
            guard writerSleeping else { return false }
            writerSleeping = false
            return true
        }
    }
}

/// Everything the writer thread owns: the write connection, the reusable write context and
/// the batch's rollup deltas.
///
/// `@unchecked Sendable` because it crosses into the thread's closure once: `init` builds it
/// and never touches it again, and from then on only the writer thread reads or mutates it.
private final class WriterThreadState: @unchecked Sendable {
    private(set) var db: Database?
    private(set) var context: WriteContext?
    var rollups = RollupAccumulator()
    /// One item's rollup deltas when a batch runs isolated (written inside its SAVEPOINT).
    var itemRollups = RollupAccumulator()

    init(db: Database, clock: any WallClock) {
        self.db = db
        self.context = WriteContext(db: db, clock: clock)
    }

    /// Drops the connection (closing it; SQLite checkpoints the WAL on the last close).
    func close() {
        context = nil
        db = nil
    }
}

/// The writer's transaction statements, prepared once each (no SQL hashing per job).
private enum TransactionSQL {
    static let begin = StatementSlot(index: 10, sql: "BEGIN IMMEDIATE")
    static let commit = StatementSlot(index: 11, sql: "COMMIT")
    static let rollback = StatementSlot(index: 12, sql: "ROLLBACK")
    static let savepoint = StatementSlot(index: 13, sql: "SAVEPOINT kw_job")
    static let release = StatementSlot(index: 14, sql: "RELEASE kw_job")
    static let rollbackToSavepoint = StatementSlot(index: 15, sql: "ROLLBACK TO kw_job")
}
