import Dispatch
import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

/// What Kie reports ends up in task rows and rollups. No value a row can hold may trap the
/// writer thread (a crash loop, since Kie retries the delivery), and one item whose values
/// cannot be written must not fail its batch (issue 18, points 2 and 4).
struct StoreWriterUntrustedValuesTests {
    private func finish(_ id: String, completedAt: EpochMillis?, createdAt: EpochMillis = t0, credits: Double? = nil,
                        model: String = "veo3") -> @Sendable (WriteContext) throws -> Void {
        { context in
            try context.save(task(id, model: model, createdAt: createdAt))
            guard var done = try context.task(id: id) else { throw StoreError(kind: .sqlite, message: "\(id) not saved") }
            done.state = .success
            done.completedAt = completedAt
            done.finishedAt = t0 + 60_000
            done.updatedAt = t0 + 60_000
            done.creditsConsumed = credits
            try context.save(done)
        }
    }

    /// `(completedAt - createdAt) * 1000` trapped for a completion time of 10^16 ms (the
    /// issue's crash loop); any pair of times must save, the duration clamped.
    @Test(arguments: [
        (t0, 10_000_000_000_000_000), (t0, Int64.max), (t0, Int64.min), (Int64.min, Int64.max), (Int64.max, Int64.min),
    ] as [(EpochMillis, EpochMillis)])
    func aTerminalSaveWithAnyTimesCommits(createdAt: EpochMillis, completedAt: EpochMillis) async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write(finish("odd", completedAt: completedAt, createdAt: createdAt))
            try await writer.write(finish("normal", completedAt: t0 + 30_000))
            let reader = try StoreReader(path: path)
            #expect(try reader.task(id: "odd")?.completedAt == completedAt)
            #expect(try reader.task(id: "odd")?.state == .success)
            let rollups = try reader.taskRollups(fromMinute: .min, toMinute: .max)
            #expect(rollups.map(\.finishedSuccess) == [2])
            #expect(rollups.first.map { $0.durationSumMicros >= 30_000_000 } == true)
            #expect(writer.storeErrors == 0)
            await writer.close()
        }
    }

    /// A NaN in `task_rollup.credits` used to bind as NULL, break NOT NULL and fail the whole
    /// group commit, again on every retry. Among many valid ones, every poisoned save commits
    /// too, its credits absent, and the rollup sums only the valid credits.
    @Test func implausibleCreditsAmongValidSavesAllCommitWithCreditsAbsent() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let poisoned: [Double] = [.nan, .infinity, -.infinity, -1, 1e300, -.nan]
            let valid = 40
            let (holder, release) = try await holdWriter(writer)
            var saves: [Task<Void, any Error>] = []
            for i in 0..<valid + poisoned.count {
                let credits = i < poisoned.count ? poisoned[i] : 2.5
                saves.append(Task { try await writer.write(finish("t\(i)", completedAt: t0 + 30_000, credits: credits)) })
                try await waitUntil { writer.queueDepth == i + 1 }
            }
            release.signal()
            try await holder.value
            for save in saves { try await save.value }

            let reader = try StoreReader(path: path)
            #expect(try reader.db.rows("SELECT count(*) FROM tasks WHERE state = 'success'") == [[.integer(Int64(valid + poisoned.count))]])
            let absent = try reader.db.rows("SELECT task_id FROM tasks WHERE credits_consumed IS NULL ORDER BY task_id")
            #expect(Set(absent.compactMap { $0[0].string }) == Set((0..<poisoned.count).map { "t\($0)" }))
            #expect(try reader.db.rows("SELECT sum(credits), sum(finished_success) FROM task_rollup")
                    == [[.real(2.5 * Double(valid)), .integer(Int64(valid + poisoned.count))]])
            #expect(writer.storeErrors == 0)
            await writer.close()
        }
    }

    /// Should a rollup upsert fail anyway (here a trigger refuses one model's rows), the batch
    /// runs again isolated and the rollup deltas are written inside each item's SAVEPOINT: only
    /// the item whose rollup failed is lost, closure or record alike; its neighbours commit.
    @Test func aRollupThatCannotBeWrittenFailsOnlyItsOwnItem() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            try await writer.write { context in
                for table in ["task_rollup", "call_rollup"] {
                    try context.execute("""
                        CREATE TRIGGER refuse_\(table) BEFORE INSERT ON \(table) WHEN NEW.model = 'poison'
                        BEGIN SELECT RAISE(ABORT, 'refused rollup'); END
                        """)
                }
            }
            let (holder, release) = try await holdWriter(writer)
            let before = Task { try await writer.write(finish("before", completedAt: t0 + 30_000, credits: 1)) }
            try await waitUntil { writer.queueDepth == 1 }
            let poisoned = Task { try await writer.write(finish("poisoned", completedAt: t0 + 30_000, model: "poison")) }
            try await waitUntil { writer.queueDepth == 2 }
            writer.record(call(model: "poison", taskID: "poisoned-call"))
            writer.record(call(model: "veo3", taskID: "kept-call"))
            try await waitUntil { writer.queueDepth == 4 }
            let after = Task { try await writer.write(finish("after", completedAt: t0 + 30_000, credits: 2)) }
            try await waitUntil { writer.queueDepth == 5 }
            let batchesBefore = writer.committedBatches
            release.signal()
            try await holder.value

            try await before.value
            try await after.value
            let error = await #expect(throws: StoreError.self) { try await poisoned.value }
            #expect(error?.description.contains("refused rollup") == true)
            #expect(writer.committedBatches == batchesBefore + 2, "the holder's batch, then one for the rest")
            #expect(writer.droppedRecords == 1)

            let reader = try StoreReader(path: path)
            #expect(try reader.db.rows("SELECT task_id FROM tasks ORDER BY task_id") == [[.text("after")], [.text("before")]])
            #expect(try reader.db.rows("SELECT task_id FROM api_calls") == [[.text("kept-call")]])
            #expect(try reader.db.rows(
                        "SELECT model, sum(created), sum(finished_success), sum(credits) FROM task_rollup GROUP BY model")
                    == [[.text("veo3"), .integer(2), .integer(2), .real(3)]])
            #expect(try reader.db.rows("SELECT model, calls FROM call_rollup") == [[.text("veo3"), .integer(1)]])
            // The writer's open-task count saw the poisoned closure roll back too.
            #expect(writer.openTasksByModel.isEmpty)
            await writer.close()
        }
    }
}
