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
