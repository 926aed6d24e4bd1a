import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

struct StoreReaderTests {
    @Test func staleTasksAndDueRelays() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write { context in
                try context.save(task("due", deadlineAt: t0 - 1))
                try context.save(task("due-now", state: .generating, deadlineAt: t0))
                try context.save(task("not-yet", deadlineAt: t0 + 1))
                try context.save(task("done", state: .success, deadlineAt: t0 - 5))
                var silent = task("no-callback", deadlineAt: t0 - 5)
                silent.expectsCallback = false
                try context.save(silent)
                try context.enqueueRelay(RelayOutboxItem(taskID: "a", url: "u", body: [1], createdAt: t0 - 10))
                try context.enqueueRelay(RelayOutboxItem(taskID: "b", url: "u", body: [2], createdAt: t0,
                                                         nextAttemptAt: t0 + 1000))
                try context.enqueueRelay(RelayOutboxItem(taskID: "c", url: "u", body: [3], createdAt: t0 - 20,
                                                         state: .delivered))
            }
            let reader = try StoreReader(path: path)
            #expect(try reader.staleTasks(now: t0).map(\.taskID) == ["due", "due-now"])
            #expect(try reader.dueRelays(now: t0).map(\.taskID) == ["a"])
            #expect(try reader.dueRelays(now: t0 + 1000).map(\.taskID) == ["a", "b"])
            // The one column allowed to keep a secret keeps it: the relay needs it.
            #expect(try reader.task(id: "due")?.callbackURL == "https://app.example/cb?secret=app-secret")
            #expect(try reader.rowCounts()["tasks"] == 5)
            #expect(reader.databaseBytes > 0)
            await writer.close()
        }
    }

    @Test func relayLifecycleAndRawWebhookBodies() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let body = Array(#"{"code":200,"data":{"taskId":"t9"}}"#.utf8)
            writer.record(WebhookRecord(ts: t0, family: .market, taskID: "t9", model: "sora-2-pro", state: .success,
                                        auth: .ok, result: .accepted, delayMillis: 1_200, body: body,
                                        signatureTimestamp: "1767225600", signature: "c2ln"))
            let id = try await writer.write { context in
                try context.enqueueRelay(RelayOutboxItem(taskID: "t9", url: "https://app/cb?secret=s", body: body,
                                                         headers: "X-KieWatch-Recovered: true", synthesized: true,
                                                         createdAt: t0))
            }
            let reader = try StoreReader(path: path)
            var item = try #require(try reader.relay(id: id))
            #expect(item.state == .pending && item.synthesized && item.url == "https://app/cb?secret=s")
            #expect(try reader.dueRelays(now: t0).map(\.id) == [id])

            item.attempts = 1
            item.state = .delivered
            item.lastStatus = 200
            item.deliveredAt = t0 + 50
            let saved = item
            let updated = try await writer.write { context -> Bool in
                try context.insert(RelayAttemptRecord(outboxID: id, ts: t0 + 50, httpStatus: 200, durationMicros: 900))
                try context.setMeta("last_webhook_at", String(t0))
                return try context.updateRelay(saved)
            }
            #expect(updated)
            #expect(try reader.relay(id: id) == saved)
            #expect(try reader.dueRelays(now: t0 + 1_000).isEmpty)
            #expect(try reader.count(of: "relay_attempts") == 1)
            #expect(try reader.meta("last_webhook_at") == String(t0))
            let webhooks = try reader.webhooks(taskID: "t9")
            #expect(webhooks.count == 1)
            #expect(webhooks.first?.body == body)
            #expect(webhooks.first?.state == .success && webhooks.first?.delayMillis == 1_200)
            await writer.close()
        }
    }

    /// What the gauges refresh and the agent restores at start, read by name.
    @Test func gaugeAndStartupReads() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write { context in
                try context.save(task("a", model: "veo3", deadlineAt: t0 - 1))
                try context.save(task("b", model: "veo3", state: .generating, deadlineAt: t0))
                try context.save(task("c", model: "kling", deadlineAt: t0 - 5))
                try context.save(task("later", model: "kling", deadlineAt: t0 + 1))
                var done = task("done", model: "kling", state: .success, createdAt: t0 - 90_000, deadlineAt: t0 - 5)
                done.completedAt = t0 - 30_000
                done.finishedAt = t0 - 20_000
                try context.save(done)
                var failed = task("failed", model: "veo3", state: .fail, createdAt: t0 - 50_000)
                failed.finishedAt = t0 - 10_000  // no completion time from Kie: until kiewatch learned it
                try context.save(failed)
                try context.enqueueRelay(RelayOutboxItem(taskID: "a", url: "u", body: [1], createdAt: t0 - 10))
                try context.enqueueRelay(RelayOutboxItem(taskID: "b", url: "u", body: [2], createdAt: t0 - 4))
                try context.enqueueRelay(RelayOutboxItem(taskID: "c", url: "u", body: [3], createdAt: t0 - 20,
                                                         state: .delivered))
            }
            for (ts, result) in [(t0 + 5, WebhookResult.accepted), (t0 + 9, .duplicate), (t0 + 2, .accepted)] {
                writer.record(WebhookRecord(ts: ts, family: .veo, taskID: "a", auth: .ok, result: result, body: []))
            }
            await writer.close()
            let reader = try StoreReader(path: path)
            #expect(try reader.staleTaskCounts(now: t0) == ["veo3": 2, "kling": 1])
            #expect(try reader.relayQueue() == RelayQueue(depth: 2, oldestCreatedAt: t0 - 10))
            #expect(try reader.lastAcceptedWebhookAt() == t0 + 5)
            #expect(try reader.recentTaskDurations() == [
                TaskDuration(model: "veo3", durationMillis: 40_000), TaskDuration(model: "kling", durationMillis: 60_000),
            ])
            #expect(try reader.estimatedCount(of: "tasks") == TableCount(count: 6, estimated: false))
            #expect(throws: StoreError.self) { try reader.estimatedCount(of: "sqlite_schema") }
        }
    }

    @Test func gaugeReadsOfAnEmptyStore() async throws {
        try await withTemporaryDatabase { path in
            try await openWriter(path).close()
            let reader = try StoreReader(path: path)
            #expect(try reader.staleTaskCounts(now: t0).isEmpty)
            #expect(try reader.relayQueue() == RelayQueue(depth: 0, oldestCreatedAt: nil))
            #expect(try reader.lastAcceptedWebhookAt() == nil)
            #expect(try reader.recentTaskDurations().isEmpty)
        }
    }

    @Test(arguments: [
        "INSERT INTO meta VALUES ('k', 'v', 0)",
        "UPDATE tasks SET state = 'fail'",
        "DELETE FROM api_calls",
        "DROP TABLE api_calls",
        "CREATE TABLE x(a)",
        "ATTACH DATABASE '/tmp/kiewatch-attach.db' AS other",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA query_only = 0",
        "PRAGMA user_version = 7",
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM meta",
        "BEGIN",
        "",
    ])
    func readOnlyQueryRefuses(sql: String) async throws {
        try await withTemporaryDatabase { path in
            try await openWriter(path).close()
            let reader = try StoreReader(path: path)
            let error = try #require(throws: StoreError.self) { try reader.readOnlyQuery(sql: sql) }
            #expect(error.kind == .refused, "\(error)")
            #expect(try reader.count(of: "meta") == 0)
        }
    }

    @Test func readOnlyQueryAnswersSelects() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            writer.record(call(model: "sora-2-text-to-video", latencyMicros: 1_500))
            writer.record(call(model: nil, latencyMicros: 2_500))
            await writer.close()
            let reader = try StoreReader(path: path)
            let result = try reader.readOnlyQuery(
                sql: "SELECT model, latency_us FROM api_calls ORDER BY id; -- trailing comment")
            #expect(result.columns == ["model", "latency_us"])
            #expect(result.rows == [["sora-2-text-to-video", "1500"], [nil, "2500"]])
            #expect(result.truncated == false)
            #expect(try reader.readOnlyQuery(sql: "PRAGMA journal_mode").rows == [["wal"]])
            #expect(try reader.readOnlyQuery(sql: "PRAGMA table_info(meta)").rows.count == 3)
            let capped = try reader.readOnlyQuery(sql: "SELECT id FROM api_calls", maxRows: 1)
            #expect(capped.rows.count == 1 && capped.truncated)
        }
    }

    @Test func readOnlyQueryStopsAtItsTimeLimit() async throws {
        try await withTemporaryDatabase { path in
            try await openWriter(path).close()
            let reader = try StoreReader(path: path)
            let error = try #require(throws: StoreError.self) {
                try reader.readOnlyQuery(
                    sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                    timeLimitMillis: 20)
            }
            #expect(error.kind == .timeLimit)
            // The connection is usable afterwards, without the limit.
            #expect(try reader.readOnlyQuery(sql: "SELECT 42").rows == [["42"]])
        }
    }
}
