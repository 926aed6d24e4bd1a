import CSQLite

/// One forward step of the schema. Applied once, in order, never edited after release:
/// a change to the schema is a new migration appended to `Schema.migrations`.
package struct Migration: Sendable {
    package let version: Int
    package let name: String
    package let sql: String
}

/// The database schema: its versions, how to bring a file up to date, and how to tell a
/// kiewatch database from anything else. The README's "Database schema" documents the tables for humans.
package enum Schema {
    /// `PRAGMA application_id` of a kiewatch database ("kiew"), so another program's SQLite
    /// file is refused instead of being migrated into.
    package static let applicationID: Int32 = 0x6B69_6577

    package static let migrations: [Migration] = [
        Migration(version: 1, name: "time-series tables, tasks, relay outbox, rollups", sql: version1),
        Migration(version: 2, name: "webhook rollup, task rollup credits, console indexes", sql: version2),
        Migration(version: 3, name: "fewer open-task indexes", sql: version3),
        Migration(version: 4, name: "open tasks by model, covering the in-flight and stale gauges", sql: version4),
        Migration(version: 5, name: "open tasks counted in memory, not indexed by model", sql: version5),
        Migration(version: 6, name: "callback routes: create -> callback mapping before the create reaches Kie", sql: version6),
        Migration(version: 7, name: "running totals that retention keeps", sql: version7),
        Migration(version: 8, name: "on-call actions: relay give-up windows, replays, the action log", sql: version8),
        Migration(version: 9, name: "every task family: progress callbacks received per task", sql: version9),
    ]

    /// The version this build writes and reads.
    package static var latestVersion: Int { migrations.last!.version }

    /// The version recorded in the file (0 for a fresh file).
    package static func version(of db: Database) throws -> Int {
        let exists = try db.rows(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
        guard !exists.isEmpty else { return 0 }
        return Int(try db.rows("SELECT coalesce(max(version), 0) FROM schema_migrations").first?.first?.int64 ?? 0)
    }

    /// Brings the file up to `latestVersion`, applying every pending migration in order inside
    /// one `BEGIN IMMEDIATE` transaction (all or nothing). An up-to-date file is left untouched.
    /// Returns the versions applied.
    @discardableResult
    package static func migrate(_ db: Database, now: Int64) throws -> [Int] {
        try checkApplication(db)
        try db.execute("BEGIN IMMEDIATE")
        do {
            let current = try version(of: db)
            guard current <= latestVersion else { throw tooNew(current, db.path) }
            let pending = migrations.filter { $0.version > current }
            for migration in pending {
                try db.execute(migration.sql)
                try db.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .integer(now)])
            }
            if !pending.isEmpty {
                try db.execute("PRAGMA application_id = \(applicationID)")
            }
            try db.execute("COMMIT")
            return pending.map(\.version)
        } catch {
            if db.isInTransaction {
                try db.execute("ROLLBACK")
            }
            throw error
        }
    }

    /// For read-only connections: the file must be a kiewatch database at exactly this version.
    package static func verify(_ db: Database) throws {
        try checkApplication(db)
        let current = try version(of: db)
        if current > latestVersion { throw tooNew(current, db.path) }
        if current < latestVersion {
            throw StoreError(
                kind: .schemaTooOld, code: 0,
                message: "\(db.path) has schema version \(current), this kiewatch needs \(latestVersion): "
                    + "run `kiewatch serve` once to migrate it")
        }
    }

    /// A fresh file has application_id 0 and no tables; a kiewatch file has ours.
    private static func checkApplication(_ db: Database) throws {
        let id = Int32(truncatingIfNeeded: try db.rows("PRAGMA application_id").first?.first?.int64 ?? 0)
        if id == applicationID { return }
        let tables = try db.rows("SELECT count(*) FROM sqlite_schema").first?.first?.int64 ?? 0
        if id == 0 && tables == 0 { return }
        throw StoreError(
            kind: .notADatabase, code: 0,
            message: "\(db.path) is not a kiewatch database: it is a SQLite database of another program "
                + "(application_id \(id), \(tables) schema objects)")
    }

    private static func tooNew(_ version: Int, _ path: String) -> StoreError {
        StoreError(
            kind: .schemaTooNew, code: 0,
            message: "\(path) has schema version \(version), newer than this kiewatch (\(latestVersion)): "
                + "upgrade kiewatch or point --db at another file")
    }

    // MARK: Version 1

    private static let version1 = """
        CREATE TABLE schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE api_calls (
            id             INTEGER PRIMARY KEY,
            ts             INTEGER NOT NULL,
            endpoint       TEXT    NOT NULL,
            model          TEXT,
            task_id        TEXT,
            method         TEXT    NOT NULL,
            path           TEXT    NOT NULL,
            http_status    INTEGER NOT NULL,
            body_code      INTEGER,
            latency_us     INTEGER NOT NULL,
            request_bytes  INTEGER NOT NULL,
            response_bytes INTEGER NOT NULL,
            outcome        TEXT    NOT NULL,
            error          TEXT
        ) STRICT;
        CREATE INDEX api_calls_ts       ON api_calls(ts);
        CREATE INDEX api_calls_model_ts ON api_calls(model, ts);
        CREATE INDEX api_calls_task     ON api_calls(task_id) WHERE task_id IS NOT NULL;

        CREATE TABLE webhooks (
            id                  INTEGER PRIMARY KEY,
            ts                  INTEGER NOT NULL,
            family              TEXT    NOT NULL,
            task_id             TEXT,
            model               TEXT,
            state               TEXT,
            auth                TEXT    NOT NULL,
            result              TEXT    NOT NULL,
            delay_ms            INTEGER,
            body                BLOB    NOT NULL,
            signature_timestamp TEXT,
            signature           TEXT
        ) STRICT;
        CREATE INDEX webhooks_ts       ON webhooks(ts);
        CREATE INDEX webhooks_model_ts ON webhooks(model, ts);
        CREATE INDEX webhooks_task     ON webhooks(task_id) WHERE task_id IS NOT NULL;

        CREATE TABLE tasks (
            task_id            TEXT    PRIMARY KEY,
            family             TEXT    NOT NULL,
            model              TEXT    NOT NULL,
            state              TEXT    NOT NULL,
            created_at         INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL,
            completed_at       INTEGER,
            finished_at        INTEGER,
            callback_url       TEXT,
            expects_callback   INTEGER NOT NULL DEFAULT 0,
            deadline_at        INTEGER,
            last_callback_at   INTEGER,
            callbacks_received INTEGER NOT NULL DEFAULT 0,
            recovered_at       INTEGER,
            recovery_attempts  INTEGER NOT NULL DEFAULT 0,
            next_poll_at       INTEGER,
            result_source      TEXT,
            fail_code          TEXT,
            fail_msg           TEXT,
            credits_consumed   REAL,
            missed             INTEGER NOT NULL DEFAULT 0,
            gave_up_at         INTEGER
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX tasks_created       ON tasks(created_at);
        CREATE INDEX tasks_model_created ON tasks(model, created_at);
        CREATE INDEX tasks_open_deadline ON tasks(deadline_at) WHERE state NOT IN ('success', 'fail');
        CREATE INDEX tasks_open_poll     ON tasks(next_poll_at) WHERE state NOT IN ('success', 'fail');
        CREATE INDEX tasks_open_model    ON tasks(model) WHERE state NOT IN ('success', 'fail');

        CREATE TABLE recoveries (
            id      INTEGER PRIMARY KEY,
            ts      INTEGER NOT NULL,
            task_id TEXT    NOT NULL,
            model   TEXT,
            result  TEXT    NOT NULL,
            detail  TEXT
        ) STRICT;
        CREATE INDEX recoveries_ts   ON recoveries(ts);
        CREATE INDEX recoveries_task ON recoveries(task_id);

        CREATE TABLE relay_outbox (
            id              INTEGER PRIMARY KEY,
            task_id         TEXT    NOT NULL,
            url             TEXT    NOT NULL,
            body            BLOB    NOT NULL,
            headers         TEXT    NOT NULL DEFAULT '',
            synthesized     INTEGER NOT NULL DEFAULT 0,
            created_at      INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            state           TEXT    NOT NULL,
            last_status     INTEGER,
            last_error      TEXT,
            delivered_at    INTEGER
        ) STRICT;
        CREATE INDEX relay_outbox_due  ON relay_outbox(next_attempt_at) WHERE state = 'pending';
        CREATE INDEX relay_outbox_task ON relay_outbox(task_id);
        CREATE INDEX relay_outbox_done ON relay_outbox(created_at) WHERE state IN ('delivered', 'gave_up');

        CREATE TABLE relay_attempts (
            id          INTEGER PRIMARY KEY,
            outbox_id   INTEGER NOT NULL REFERENCES relay_outbox(id) ON DELETE CASCADE,
            ts          INTEGER NOT NULL,
            http_status INTEGER,
            error       TEXT,
            duration_us INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX relay_attempts_outbox ON relay_attempts(outbox_id);
        CREATE INDEX relay_attempts_ts     ON relay_attempts(ts);

        CREATE TABLE meta (
            key        TEXT    PRIMARY KEY,
            value      TEXT    NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE call_rollup (
            minute         INTEGER NOT NULL,
            endpoint       TEXT    NOT NULL,
            model          TEXT    NOT NULL,
            code           TEXT    NOT NULL,
            calls          INTEGER NOT NULL,
            errors         INTEGER NOT NULL,
            latency_sum_us INTEGER NOT NULL,
            latency_max_us INTEGER NOT NULL,
            buckets        BLOB    NOT NULL,
            PRIMARY KEY (minute, endpoint, model, code)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE task_rollup (
            minute           INTEGER NOT NULL,
            model            TEXT    NOT NULL,
            created          INTEGER NOT NULL,
            finished_success INTEGER NOT NULL,
            finished_fail    INTEGER NOT NULL,
            missed           INTEGER NOT NULL,
            duration_sum_us  INTEGER NOT NULL,
            buckets          BLOB    NOT NULL,
            PRIMARY KEY (minute, model)
        ) STRICT, WITHOUT ROWID;
        """

    // MARK: Version 2

    /// Per-minute webhook counts and delay histograms, so the console's `models` and `errors`
    /// read a day of webhooks from ~1,440 × models × results small rows instead of millions
    /// of deliveries. Deliveries already stored are counted into it (their delays, which need
    /// the bucket layout, are not: a version-1 file only ever existed before the first release).
    /// Also two console indexes: relay state and age (given-up relays), and open tasks by
    /// deadline with `expects_callback` (counting stale tasks without touching their rows);
    /// and `task_rollup.credits`, so credits per model over a day need no task rows.
    private static let version2 = """
        CREATE TABLE webhook_rollup (
            minute       INTEGER NOT NULL,
            model        TEXT    NOT NULL,
            result       TEXT    NOT NULL,
            deliveries   INTEGER NOT NULL,
            delay_count  INTEGER NOT NULL,
            delay_sum_ms INTEGER NOT NULL,
            buckets      BLOB    NOT NULL,
            PRIMARY KEY (minute, model, result)
        ) STRICT, WITHOUT ROWID;

        INSERT INTO webhook_rollup(minute, model, result, deliveries, delay_count, delay_sum_ms, buckets)
        SELECT ts / 60000, coalesce(model, ''), result, count(*), 0, 0, x''
        FROM webhooks GROUP BY ts / 60000, coalesce(model, ''), result;

        -- The console's `relay` lists recent give-ups without walking every delivered relay.
        CREATE INDEX relay_outbox_state_created ON relay_outbox(state, created_at);

        -- Credits consumed by the tasks that finished in the minute, for the console's `credits`.
        ALTER TABLE task_rollup ADD COLUMN credits REAL NOT NULL DEFAULT 0;

        -- `stale` counts open tasks past their deadline from the index alone (no row lookups).
        CREATE INDEX tasks_open_deadline_callback ON tasks(deadline_at, expects_callback, state)
            WHERE state NOT IN ('success', 'fail');

        -- Tasks the app learned were done by polling through the proxy while their callback has
        -- not come: still owed a webhook, so recovery polls them at the deadline too.
        CREATE INDEX tasks_done_awaiting_callback ON tasks(deadline_at)
            WHERE state IN ('success', 'fail') AND expects_callback = 1 AND callbacks_received = 0
              AND recovered_at IS NULL AND gave_up_at IS NULL;
        """

    /// Every callback that finishes a task takes it out of each partial index over open tasks;
    /// three of them are covered by `tasks_open_deadline_callback(deadline_at, expects_callback,
    /// state)` (stale lists, recovery, the in-flight gauge), so they go.
    private static let version3 = """
        DROP INDEX tasks_open_deadline;
        DROP INDEX tasks_open_poll;
        DROP INDEX tasks_open_model;
        """

    /// The in-flight and stale gauges count open tasks per model every refresh. Through
    /// `tasks_open_deadline_callback` each open task cost a row lookup for its model and the
    /// whole set a sort (a fifth of the agent's CPU during a webhook flood over 200,000 open
    /// tasks); this index answers the per-model counts in one ordered walk of the index alone
    /// (`state` is in it because SQLite 3.40 needs the partial index's own condition covered).
    private static let version4 = """
        CREATE INDEX tasks_open_model ON tasks(model, deadline_at, expects_callback, state)
            WHERE state NOT IN ('success', 'fail');
        """

    /// Every callback that finished a task paid `tasks_open_model` an index delete and a page in
    /// the WAL (a sixth of the writer's work per callback); the writer now counts open tasks
    /// per model in memory (`StoreWriter.openTasksByModel`) and the stale gauge reads
    /// `tasks_open_deadline_callback`.
    private static let version5 = """
        DROP INDEX tasks_open_model;
        """

    /// The callback URL the agent gives Kie names a route (`/webhooks/kie/<token>`), committed
    /// before the create is forwarded: the app's URL is durable before Kie can call back, an
    /// early callback (before the create answer) finds its app, and a create answer that was
    /// never stored (disk full, kill -9) loses no callback. `task_id` is bound by the create
    /// answer, or by the first callback when that comes first. `callback_url` is the app's own
    /// URL with its secret (like `tasks.callback_url`). Retention deletes routes by age
    /// (`callback_routes_created`); a callback to a pruned route is matched by its task id.
    private static let version6 = """
        CREATE TABLE callback_routes (
            token        TEXT    PRIMARY KEY,
            family       TEXT    NOT NULL,
            model        TEXT    NOT NULL,
            callback_url TEXT    NOT NULL,
            created_at   INTEGER NOT NULL,
            task_id      TEXT
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX callback_routes_created ON callback_routes(created_at);
        """

    /// Running totals per counter and label set, never deleted by retention, so the counters a
    /// restart restores stay what they were after the rows behind them are gone (they used to
    /// be rebuilt from the rollups and rows that retention deletes: a restart after 14 days
    /// lowered them). `first_at` is when the total started (its first counted event), the
    /// restored counter's `_created`. Seeded from what the file still holds, as the restore
    /// counted it before; the rollups' minutes stand for the first times.
    private static let version7 = """
        CREATE TABLE totals (
            counter  TEXT    NOT NULL,
            endpoint TEXT    NOT NULL DEFAULT '',
            model    TEXT    NOT NULL DEFAULT '',
            code     TEXT    NOT NULL DEFAULT '',
            result   TEXT    NOT NULL DEFAULT '',
            value    REAL    NOT NULL,
            first_at INTEGER NOT NULL,
            PRIMARY KEY (counter, endpoint, model, code, result)
        ) STRICT, WITHOUT ROWID;

        INSERT INTO totals(counter, endpoint, model, code, value, first_at)
        SELECT 'calls', endpoint, model, code, sum(calls), min(minute) * 60000
        FROM call_rollup GROUP BY endpoint, model, code HAVING sum(calls) > 0;

        INSERT INTO totals(counter, model, value, first_at)
        SELECT 'tasks_created', model, sum(created), min(minute) * 60000
        FROM task_rollup WHERE created > 0 GROUP BY model;
        INSERT INTO totals(counter, model, result, value, first_at)
        SELECT 'tasks_finished', model, 'success', sum(finished_success), min(minute) * 60000
        FROM task_rollup WHERE finished_success > 0 GROUP BY model;
        INSERT INTO totals(counter, model, result, value, first_at)
        SELECT 'tasks_finished', model, 'fail', sum(finished_fail), min(minute) * 60000
        FROM task_rollup WHERE finished_fail > 0 GROUP BY model;
        INSERT INTO totals(counter, model, value, first_at)
        SELECT 'tasks_missed', model, sum(missed), min(minute) * 60000
        FROM task_rollup WHERE missed > 0 GROUP BY model;
        INSERT INTO totals(counter, model, value, first_at)
        SELECT 'credits', model, sum(credits), min(minute) * 60000
        FROM task_rollup WHERE credits > 0 GROUP BY model;

        INSERT INTO totals(counter, model, result, value, first_at)
        SELECT 'webhooks', model, result, sum(deliveries), min(minute) * 60000
        FROM webhook_rollup GROUP BY model, result HAVING sum(deliveries) > 0;

        INSERT INTO totals(counter, model, result, value, first_at)
        SELECT 'recoveries', coalesce(model, ''), result, count(*), min(ts)
        FROM recoveries GROUP BY coalesce(model, ''), result;

        INSERT INTO totals(counter, result, value, first_at)
        SELECT 'relay_attempts',
               CASE WHEN a.http_status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN o.state = 'gave_up' AND a.id = (SELECT max(id) FROM relay_attempts WHERE outbox_id = o.id)
                    THEN 'gave_up'
                    ELSE 'failed' END, count(*), min(a.ts)
        FROM relay_attempts a JOIN relay_outbox o ON o.id = a.outbox_id GROUP BY 2;
        """

    /// The on-call actions (`replay`, `relay retry`, `relay pause`/`resume`).
    ///
    /// `relay_outbox` learns when its give-up window started (`window_start_at`: the create,
    /// moved to the time of a `relay retry`, and forward by the length of a pause) and how many
    /// attempts that window has seen (`window_attempts`, the backoff step; `attempts` stays the
    /// total), both NULL on older rows for `created_at` and `attempts`, so no row is rewritten;
    /// when it gave up (`gave_up_at`, for `relay retry gave_up since=`, filled in for rows given
    /// up before from their last attempt); and whether the console queued it (`replayed`).
    /// `actions` records who asked for what and how many relays it touched; `action_tasks`
    /// names the tasks (and relays) an action touched, for each task's timeline.
    private static let version8 = """
        ALTER TABLE relay_outbox ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE relay_outbox ADD COLUMN window_start_at INTEGER;
        ALTER TABLE relay_outbox ADD COLUMN window_attempts INTEGER;
        ALTER TABLE relay_outbox ADD COLUMN gave_up_at INTEGER;
        UPDATE relay_outbox SET gave_up_at = coalesce(
            (SELECT max(ts) FROM relay_attempts WHERE outbox_id = relay_outbox.id), next_attempt_at, created_at)
        WHERE state = 'gave_up';
        CREATE INDEX relay_outbox_gave_up ON relay_outbox(gave_up_at) WHERE state = 'gave_up';

        CREATE TABLE actions (
            id     INTEGER PRIMARY KEY,
            ts     INTEGER NOT NULL,
            actor  TEXT    NOT NULL,
            action TEXT    NOT NULL,
            target TEXT    NOT NULL,
            count  INTEGER NOT NULL,
            detail TEXT
        ) STRICT;
        CREATE INDEX actions_ts ON actions(ts);

        CREATE TABLE action_tasks (
            action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
            task_id   TEXT    NOT NULL,
            outbox_id INTEGER,
            PRIMARY KEY (action_id, task_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX action_tasks_task ON action_tasks(task_id);
        """

    /// Every task family (`TaskFamily`): the progress callbacks a task of a family that sends
    /// several (Suno's `text`, `first`) has received, each relayed once (comma-separated kinds,
    /// NULL for none). Tracked ids of requests reusing a parent's id (`<parent>#4k`) need no
    /// change: `task_id` is text.
    private static let version9 = """
        ALTER TABLE tasks ADD COLUMN callback_kinds TEXT;
        """
}
