import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

/// The store side of the on-call actions: migration 8, which given-up relays a bulk retry
/// puts back, the pause's give-up windows, the pause switch, and the action log's retention.
struct RelayActionStoreTests {
    func relay(_ task: String, _ state: RelayState, createdAt: EpochMillis = t0, gaveUpAt: EpochMillis? = nil)
        -> RelayOutboxItem
    {
        RelayOutboxItem(taskID: task, url: "https://app.example/cb", body: [], createdAt: createdAt,
                        attempts: state == .pending ? 0 : 3, state: state, gaveUpAt: gaveUpAt)
    }

    /// A file from version 7 keeps its relays: no window of their own (their creation and all
    /// their attempts), and a given-up one learns when it gave up from its last attempt.
    @Test func migration8KeepsTheOutboxAndDatesOldGiveUps() async throws {
        try await withTemporaryDatabase { path in
            let db = try Database(path: path, mode: .readWrite)
            for migration in Schema.migrations where migration.version < 8 {
                try db.execute(migration.sql)
                try db.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                               [.integer(Int64(migration.version)), .text(migration.name)])
            }
            try db.execute("PRAGMA application_id = \(Schema.applicationID)")
            try db.execute("""
                INSERT INTO relay_outbox(id, task_id, url, body, created_at, next_attempt_at, attempts, state)
                    VALUES (1, 'a', 'u', x'', \(t0), \(t0 + 600), 3, 'pending'),
                           (2, 'b', 'u', x'', \(t0), \(t0 + 900), 2, 'gave_up'),
                           (3, 'c', 'u', x'', \(t0), \(t0 + 50), 0, 'gave_up');
                INSERT INTO relay_attempts(outbox_id, ts, http_status, duration_us)
                    VALUES (2, \(t0 + 100), 500, 1), (2, \(t0 + 200), 503, 1);
                """)
            let writer = try openWriter(path)
            #expect(writer.appliedMigrations == Array(8...Schema.latestVersion))
            await writer.close()
            let reader = try StoreReader(path: path)
            let pending = try #require(try reader.relay(id: 1))
            #expect(pending.windowStartAt == t0 && pending.windowAttempts == 3 && pending.gaveUpAt == nil)
            #expect(pending.replayed == false)
            #expect(try reader.relay(id: 2)?.gaveUpAt == t0 + 200)
            #expect(try reader.relay(id: 3)?.gaveUpAt == t0 + 50, "no attempt: its last scheduled time")
        }
    }

    /// One relay per task, never a second copy of a pending one, never a result the app got since.
    @Test func aBulkRetryPutsBackTheNewestGivenUpRelayOfEachTask() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let hour: EpochMillis = 3_600_000
            try await writer.write { ctx in
                for (id, model) in [("a", "veo3"), ("b", "veo3"), ("c", "veo3"), ("d", "kling"), ("e", "veo3")] {
                    try ctx.save(task(id, model: model, state: .success))
                }
                try ctx.enqueueRelay(relay("a", .gaveUp, gaveUpAt: t0 - 2 * hour))   // 1: an older copy of a
                try ctx.enqueueRelay(relay("a", .gaveUp, gaveUpAt: t0 - hour))       // 2: a's newest: retried
                try ctx.enqueueRelay(relay("b", .gaveUp, gaveUpAt: t0 - hour))       // 3
                try ctx.enqueueRelay(relay("b", .pending))                          // 4: b has one pending
                try ctx.enqueueRelay(relay("c", .gaveUp, gaveUpAt: t0 - hour))       // 5
                try ctx.enqueueRelay(relay("c", .delivered))                        // 6: c's app has it
                try ctx.enqueueRelay(relay("d", .gaveUp, gaveUpAt: t0 - hour))       // 7: another model
                try ctx.enqueueRelay(relay("e", .gaveUp, gaveUpAt: t0 - 30 * hour))  // 8: long ago
            }
            try await writer.flush()
            let reader = try StoreReader(path: path)
            #expect(try reader.givenUpRelayCounts(GivenUpRelaySelection()) == GivenUpRelayCounts(givenUp: 6, retryable: 3))
            let lastDay = GivenUpRelaySelection(since: t0 - 24 * hour)
            #expect(try reader.givenUpRelayCounts(lastDay) == GivenUpRelayCounts(givenUp: 5, retryable: 2))
            let veo = GivenUpRelaySelection(since: t0 - 24 * hour, model: "veo3")
            #expect(try reader.givenUpRelayCounts(veo) == GivenUpRelayCounts(givenUp: 4, retryable: 1))

            let first = try await writer.write { ctx in try ctx.retryableRelays(lastDay, after: .min, limit: 1) }
            #expect(first.map(\.id) == [2])
            let rest = try await writer.write { ctx in try ctx.retryableRelays(lastDay, after: 2, limit: 10) }
            #expect(rest.map(\.id) == [7])
            let requeued = try await writer.write { ctx in
                (try ctx.requeueRelay(id: 2, at: t0), try ctx.requeueRelay(id: 2, at: t0), try ctx.requeueRelay(id: 6, at: t0))
            }
            #expect(requeued == (true, false, false), "only a given-up relay goes back, once")
            let back = try #require(try reader.relay(id: 2))
            #expect(back.state == .pending && back.nextAttemptAt == t0 && back.windowStartAt == t0)
            #expect(back.windowAttempts == 0 && back.attempts == 3 && back.gaveUpAt == nil)
            #expect(try reader.givenUpRelayCounts(lastDay).retryable == 1, "a now has one pending: its older copy stays")
            await writer.close()
        }
    }

    /// `since=` is a range of the given-up index, not a walk of every given-up relay; each
    /// relay's task is looked up by key.
    @Test func theBulkRetryReadsARangeOfTheGivenUpIndex() async throws {
        try await withTemporaryDatabase { path in
            try await openWriter(path).close()
            let reader = try StoreReader(path: path)
            for sql in [RecordSQL.countGivenUp, RecordSQL.countRetryable, RecordSQL.selectRetryable] {
                let plan = try reader.db.rows("EXPLAIN QUERY PLAN " + sql).compactMap { $0.last?.string }
                #expect(plan.first == "SEARCH o USING INDEX relay_outbox_gave_up (gave_up_at>?)", "\(plan)")
                #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
            }
        }
    }

    /// A pause stops every pending relay's give-up clock for the part of the pause it lived through.
    @Test func resumingMovesThePendingWindowsByThePause() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let ids = try await writer.write { ctx in
                [
                    try ctx.enqueueRelay(relay("before", .pending, createdAt: t0)),
                    try ctx.enqueueRelay(relay("during", .pending, createdAt: t0 + 30_000)),
                    try ctx.enqueueRelay(relay("done", .delivered, createdAt: t0)),
                ]
            }
            let pending = try await writer.write { ctx in
                try ctx.shiftPendingRelayWindows(pausedAt: t0 + 10_000, resumedAt: t0 + 70_000)
            }
            #expect(pending == 2)
            let reader = try StoreReader(path: path)
            #expect(try ids.map { try reader.relay(id: $0)?.windowStartAt } == [t0 + 60_000, t0 + 70_000, t0])
            #expect(try reader.relay(id: ids[0])?.createdAt == t0, "created_at stays what it was")
            await writer.close()
        }
    }

    @Test func thePauseSwitchIsStoredAndAnUnreadableOneHolds() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let reader = try StoreReader(path: path)
            #expect(try reader.relayPause() == nil)
            try await writer.write { ctx in try ctx.setRelayPause(RelayPause(since: t0, until: t0 + 900_000)) }
            #expect(try reader.relayPause() == RelayPause(since: t0, until: t0 + 900_000))
            try await writer.write { ctx in try ctx.setRelayPause(RelayPause(since: t0, until: nil)) }
            #expect(try reader.relayPause() == RelayPause(since: t0, until: nil))
            #expect(try reader.relayPause()?.holds(at: .max) == true)
            try await writer.write { ctx in try ctx.setMeta("relay_paused", "garbage 99999999999999999999999") }
            #expect(try reader.relayPause() == RelayPause(since: 0, until: nil))
            try await writer.write { ctx in try ctx.setRelayPause(nil) }
            #expect(try reader.relayPause() == nil)
            await writer.close()
        }
    }

    /// Actions are kept like the time series: retention deletes old ones with the task links.
    @Test func retentionDeletesOldActionsWithTheirTasks() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let day: EpochMillis = 86_400_000
            try await writer.write { ctx in
                for (ts, target) in [(t0 - 20 * day, "relay retry #1"), (t0, "replay t")] {
                    let id = try ctx.insert(ConsoleActionRecord(
                        ts: ts, actor: .adminSocket, action: .relayRetry, target: target, count: 1))
                    try ctx.link(action: id, taskID: "t", outboxID: 1)
                }
            }
            let report = try await writer.pruneOlderThan(t0 - 14 * day)
            #expect(report.deleted["actions"] == 1)
            let reader = try StoreReader(path: path)
            #expect(try reader.actions(taskID: "t").map(\.action.target) == ["replay t"])
            #expect(try reader.db.rows("SELECT count(*) FROM action_tasks") == [[.integer(1)]])
            await writer.close()
        }
    }
}
