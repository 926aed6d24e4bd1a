import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

struct RetentionTests {
    @Test func prunesOnlyOldFinishedRowsInSmallBatches() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let day: EpochMillis = 86_400_000
            let old = t0 - 20 * day
            let cutoff = t0 - 14 * day
            for i in 0..<10 {
                writer.record(call(ts: old + Int64(i)))
                writer.record(WebhookRecord(ts: old, family: .market, auth: .ok, result: .accepted, body: [1]))
                writer.record(RecoveryRecord(ts: old, taskID: "x", result: .stillRunning))
            }
            writer.record(call(ts: t0))
            writer.record(WebhookRecord(ts: t0, family: .veo, auth: .ok, result: .accepted, body: [2]))
            try await writer.write { context in
                var done = task("old-done", createdAt: old)
                done.state = .success
                done.finishedAt = old + 60_000
                try context.save(done)
                try context.save(task("old-running", createdAt: old))       // not terminal: kept
                var recent = task("recent-done", createdAt: t0)
                recent.state = .fail
                try context.save(recent)
                try context.enqueueRelay(RelayOutboxItem(taskID: "old-running", url: "https://app/cb", body: [],
                                                         createdAt: old))  // pending: kept
                let delivered = try context.enqueueRelay(RelayOutboxItem(
                    taskID: "old-done", url: "https://app/cb", body: [], createdAt: old, state: .delivered))
                try context.insert(RelayAttemptRecord(outboxID: delivered, ts: old, httpStatus: 200, durationMicros: 5))
            }
            try await writer.flush()

            let report = try await writer.pruneOlderThan(cutoff, batchSize: 3)
            #expect(report.deleted["api_calls"] == 10)
            #expect(report.deleted["webhooks"] == 10)
            #expect(report.deleted["recoveries"] == 10)
            #expect(report.deleted["relay_outbox"] == 1)
            #expect(report.deleted["tasks"] == 1)

            let reader = try StoreReader(path: path)
            #expect(try reader.count(of: "api_calls") == 1)
            #expect(try reader.count(of: "webhooks") == 1)
            #expect(try reader.count(of: "recoveries") == 0)
            #expect(try reader.count(of: "relay_attempts") == 0)
            #expect(try reader.task(id: "old-done") == nil)
            #expect(try reader.task(id: "old-running") != nil)
            #expect(try reader.task(id: "recent-done") != nil)
            #expect(try reader.dueRelays(now: t0).map(\.taskID) == ["old-running"])
            // Rollup minutes before the cutoff went; the current minute stayed.
            #expect(try reader.callRollups(fromMinute: 0, toMinute: Int64.max).map(\.calls) == [1])
            #expect(try reader.taskRollups(fromMinute: 0, toMinute: RollupAccumulator.minute(cutoff)).isEmpty)
            #expect(try reader.taskRollups(fromMinute: RollupAccumulator.minute(cutoff), toMinute: Int64.max)
                .map(\.created) == [1])

            let again = try await writer.pruneOlderThan(cutoff)
            #expect(again.total == 0)
            await writer.close()
        }
    }
}

/// The running totals the counters are restored from: moved with every batch, never pruned.
struct RunningTotalsTests {
    func total(_ totals: [RunningTotal], _ counter: TotalCounter, model: String = "", result: String = "",
               endpoint: String = "", code: String = "") -> RunningTotal? {
        totals.first {
            $0.counter == counter && $0.model == model && $0.result == result && $0.endpoint == endpoint && $0.code == code
        }
    }

    @Test func totalsCountEveryKindOfRowAndOutliveRetention() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let day: EpochMillis = 86_400_000
            let old = t0 - 20 * day
            for i in 0..<3 { writer.record(call(ts: old + Int64(i), model: "veo3", outcome: .ok)) }
            writer.record(call(ts: t0, model: "veo3"))
            writer.record(WebhookRecord(ts: old + 5, family: .veo, model: "veo3", auth: .ok, result: .accepted, body: [1]))
            writer.record(WebhookRecord(ts: old + 6, family: .veo, auth: .missing, result: .unauthorized, body: []))
            writer.record(RecoveryRecord(ts: old + 7, taskID: "x", model: "veo3", result: .stillRunning))
            try await writer.write { context in
                try context.insert(RecoveryRecord(ts: old + 8, taskID: "y", result: .notFound))
                var done = task("done", model: "veo3", createdAt: old)
                try context.save(done)
                done.state = .success
                done.finishedAt = old + 60_000
                done.creditsConsumed = 12.5
                done.missed = true
                try context.save(done)
                var failed = task("failed", model: "veo3", createdAt: old + 1)
                failed.state = .fail
                failed.finishedAt = old + 120_000
                try context.save(failed)
                let relay = try context.enqueueRelay(RelayOutboxItem(
                    taskID: "done", url: "https://app/cb", body: [], createdAt: old, state: .gaveUp))
                try context.insert(RelayAttemptRecord(outboxID: relay, ts: old + 10, httpStatus: 503, durationMicros: 5))
                try context.insert(RelayAttemptRecord(outboxID: relay, ts: old + 11, durationMicros: 5), result: .gaveUp)
                try context.insert(RelayAttemptRecord(outboxID: relay, ts: old + 12, httpStatus: 204, durationMicros: 5))
            }
            try await writer.flush()

            let before = try StoreReader(path: path).runningTotals()
            let expected: [(TotalCounter, String, String, String, String, Double, EpochMillis)] = [
                (.calls, "veo3", "", "create_task", "200", 4, old),
                (.webhooks, "veo3", "accepted", "", "", 1, old + 5),
                (.webhooks, "", "unauthorized", "", "", 1, old + 6),
                (.recoveries, "veo3", "still_running", "", "", 1, old + 7),
                (.recoveries, "", "not_found", "", "", 1, old + 8),
                (.tasksCreated, "veo3", "", "", "", 2, old),
                (.tasksFinished, "veo3", "success", "", "", 1, old + 60_000),
                (.tasksFinished, "veo3", "fail", "", "", 1, old + 120_000),
                (.tasksMissed, "veo3", "", "", "", 1, old + 60_000),
                (.credits, "veo3", "", "", "", 12.5, old + 60_000),
                (.relayAttempts, "", "failed", "", "", 1, old + 10),
                (.relayAttempts, "", "gave_up", "", "", 1, old + 11),
                (.relayAttempts, "", "delivered", "", "", 1, old + 12),
            ]
            #expect(before.count == expected.count)
            for (counter, model, result, endpoint, code, value, firstAt) in expected {
                let found = total(before, counter, model: model, result: result, endpoint: endpoint, code: code)
                #expect(found?.value == value && found?.firstAt == firstAt, "\(counter) \(model) \(result)")
            }

            let report = try await writer.pruneOlderThan(t0 - 14 * day)
            #expect(report.deleted["api_calls"] == 3 && report.deleted["call_rollup"] == 1)
            #expect(report.deleted["relay_outbox"] == 1 && report.deleted["tasks"] == 2)
            #expect(try StoreReader(path: path).runningTotals() == before)
            await writer.close()
        }
    }

    /// A file from before the running totals gets them from what it still holds, so the
    /// upgrade restores the counters the previous build restored.
    @Test func theMigrationSeedsTotalsFromTheRollupsAndRows() async throws {
        try await withTemporaryDatabase { path in
            let db = try Database(path: path, mode: .readWrite)
            for migration in Schema.migrations where migration.version < 7 {
                try db.execute(migration.sql)
                try db.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                               [.integer(Int64(migration.version)), .text(migration.name)])
            }
            try db.execute("PRAGMA application_id = \(Schema.applicationID)")
            let minute = t0 / 60_000
            try db.execute("""
                INSERT INTO call_rollup(minute, endpoint, model, code, calls, errors, latency_sum_us, latency_max_us, buckets)
                    VALUES (\(minute), 'create_task', '', '200', 3, 0, 0, 0, x''),
                           (\(minute + 2), 'create_task', '', '200', 2, 0, 0, 0, x'');
                INSERT INTO task_rollup(minute, model, created, finished_success, finished_fail, missed, duration_sum_us,
                                        buckets, credits)
                    VALUES (\(minute + 1), 'veo3', 4, 2, 1, 1, 0, x'', 7.5);
                INSERT INTO webhook_rollup(minute, model, result, deliveries, delay_count, delay_sum_ms, buckets)
                    VALUES (\(minute), 'veo3', 'late', 2, 0, 0, x'');
                INSERT INTO recoveries(ts, task_id, model, result) VALUES (\(t0 + 9), 't', NULL, 'error');
                INSERT INTO relay_outbox(id, task_id, url, body, created_at, next_attempt_at, attempts, state)
                    VALUES (1, 't', 'u', x'', \(t0), \(t0), 2, 'gave_up');
                INSERT INTO relay_attempts(outbox_id, ts, http_status, duration_us)
                    VALUES (1, \(t0 + 1), 500, 1), (1, \(t0 + 2), NULL, 1);
                """)
            let writer = try openWriter(path)
            #expect(writer.appliedMigrations == Array(7...Schema.latestVersion))
            await writer.close()
            let totals = try StoreReader(path: path).runningTotals()
            #expect(total(totals, .calls, endpoint: "create_task", code: "200")
                == RunningTotal(counter: .calls, endpoint: "create_task", model: "", code: "200", result: "", value: 5,
                                firstAt: minute * 60_000))
            #expect(total(totals, .tasksCreated, model: "veo3")?.value == 4)
            #expect(total(totals, .tasksFinished, model: "veo3", result: "success")?.value == 2)
            #expect(total(totals, .tasksFinished, model: "veo3", result: "fail")?.value == 1)
            #expect(total(totals, .tasksMissed, model: "veo3")?.firstAt == (minute + 1) * 60_000)
            #expect(total(totals, .credits, model: "veo3")?.value == 7.5)
            #expect(total(totals, .webhooks, model: "veo3", result: "late")?.value == 2)
            #expect(total(totals, .recoveries, result: "error")?.firstAt == t0 + 9)
            #expect(total(totals, .relayAttempts, result: "failed")?.value == 1)
            #expect(total(totals, .relayAttempts, result: "gave_up")?.firstAt == t0 + 2)
            #expect(totals.count == 10)
        }
    }
}
