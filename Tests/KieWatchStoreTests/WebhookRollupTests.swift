import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

/// Migration 2: `webhook_rollup` is kept in step with `webhooks` by both write paths, and
/// retention prunes it with the other rollups; `task_rollup.credits` sums finished tasks' credits.
struct WebhookRollupTests {
    private func delivery(_ ts: EpochMillis, model: String? = "veo3", result: WebhookResult = .accepted,
                          delay: Int64? = nil) -> WebhookRecord {
        WebhookRecord(ts: ts, family: .veo, taskID: "t", model: model, auth: result == .unauthorized ? .badSecret : .ok,
                      result: result, delayMillis: delay, body: [])
    }

    private func rows(_ reader: StoreReader) throws -> [[SQLValue]] {
        try reader.db.rows("""
            SELECT minute, model, result, deliveries, delay_count, delay_sum_ms FROM webhook_rollup
            ORDER BY minute, model, result
            """)
    }

    @Test func writeAndFastPathBothRollUp() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let minute = t0 / 60_000
            try await writer.write { context in
                try context.insert(self.delivery(t0 + 1_000, delay: 2_000))
                try context.insert(self.delivery(t0 + 2_000, delay: 4_000))
                try context.insert(self.delivery(t0 + 3_000, model: nil, result: .unauthorized))
            }
            writer.record(delivery(t0 + 61_000, result: .duplicate, delay: 500))
            try await writer.flush()
            let reader = try StoreReader(path: path)
            #expect(try rows(reader) == [
                [.integer(minute), "", "unauthorized", 1, 0, 0],
                [.integer(minute), "veo3", "accepted", 2, 2, 6_000],
                [.integer(minute + 1), "veo3", "duplicate", 1, 1, 500],
            ])
            let blob = try reader.db.rows(
                "SELECT buckets FROM webhook_rollup WHERE result = 'accepted'").first?.first
            guard case .blob(let bytes)? = blob else { Issue.record("no buckets"); return }
            var expected = [UInt64](repeating: 0, count: LatencyBuckets.count)
            expected[LatencyBuckets.index(micros: 2_000_000)] += 1
            expected[LatencyBuckets.index(micros: 4_000_000)] += 1
            #expect(LatencyBuckets.decode(bytes) == expected)
            await writer.close()
        }
    }

    @Test func rolledBackWriteLeavesNoTrace() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await writer.write { context in
                    try context.insert(self.delivery(t0, delay: 1_000))
                    throw Refused()
                }
            }
            let reader = try StoreReader(path: path)
            #expect(try rows(reader).isEmpty)
            await writer.close()
        }
    }

    @Test func retentionPrunesOldMinutes() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            writer.record(delivery(t0 - 120_000))
            writer.record(delivery(t0 + 1_000))
            try await writer.flush()
            let report = try await writer.pruneOlderThan(t0)
            #expect(report.deleted["webhook_rollup"] == 1)
            let reader = try StoreReader(path: path)
            #expect(try rows(reader).map { $0[0] } == [.integer(t0 / 60_000)])
            await writer.close()
        }
    }

    @Test func taskRollupSumsCreditsOfFinishedTasksOnce() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write { context in
                var done = task("a", state: .success)
                done.creditsConsumed = 12.5
                try context.save(done)
                try context.save(done)  // saved twice: counted once
                var failed = task("b", state: .fail)
                failed.creditsConsumed = 2
                try context.save(failed)
                try context.save(task("c"))  // still running: nothing consumed yet
            }
            let reader = try StoreReader(path: path)
            #expect(try reader.db.rows("SELECT sum(credits) FROM task_rollup") == [[.real(14.5)]])
            await writer.close()
        }
    }
}
