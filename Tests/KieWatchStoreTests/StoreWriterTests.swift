import Foundation
import Dispatch
import KieWatchCore
import KieWatchTestSupport
import Synchronization
import Testing

@testable import KieWatchStore

struct StoreWriterTests {
    @Test func concurrentProducersLoseNothingAndKeepTheirOrder() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let producers = 16
            let perProducer = 2_000
            await withTaskGroup(of: Void.self) { group in
                for producer in 0..<producers {
                    group.addTask {
                        for sequence in 0..<perProducer {
                            writer.record(call(taskID: "producer-\(producer)", requestBytes: Int64(sequence)))
                        }
                    }
                }
            }
            try await writer.flush()
            #expect(writer.storeErrors == 0)
            #expect(writer.droppedRecords == 0)

            let reader = try StoreReader(path: path)
            #expect(try reader.count(of: "api_calls") == Int64(producers * perProducer))
            for producer in 0..<producers {
                let sequences = try reader.db.rows(
                    "SELECT request_bytes FROM api_calls WHERE task_id = ? ORDER BY id", [.text("producer-\(producer)")])
                #expect(sequences.map { $0[0].int64! } == (0..<Int64(perProducer)).map { $0 },
                        "producer \(producer) rows are in submission order")
            }
            await writer.close()
        }
    }

    @Test func writeReturnsOnlyAfterCommitAndAFreshReaderSeesIt() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            for i in 0..<20 {
                let id = try await writer.write { context -> Int64 in
                    try context.save(task("task-\(i)"))
                    return try context.insert(call(taskID: "task-\(i)"))
                }
                let reader = try StoreReader(path: path)
                #expect(try reader.task(id: "task-\(i)")?.model == "veo3")
                #expect(try reader.db.rows("SELECT task_id FROM api_calls WHERE id = ?", [.integer(id)])
                        == [[.text("task-\(i)")]])
            }
            await writer.close()
        }
    }

    /// `save(_:replacing:)` writes only the columns that changed; whatever changed (a value
    /// set, replaced, or cleared back to NULL) must read back exactly, and the rest must stay.
    @Test func savingAgainstTheStoredRowWritesEveryChangeAndKeepsTheRest() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            var first = task("t1", deadlineAt: t0 + 60_000)
            first.nextPollAt = t0 + 1_000
            first.failMessage = "pending"
            let original = first
            try await writer.write { try $0.save(original) }

            var changed = original
            changed.state = .success
            changed.updatedAt = t0 + 5_000
            changed.completedAt = t0 + 4_000
            changed.finishedAt = t0 + 5_000
            changed.callbacksReceived = 1
            changed.creditsConsumed = 12.5
            changed.resultSource = .callback
            changed.nextPollAt = nil
            changed.failMessage = nil
            changed.missed = true
            let saved = changed
            try await writer.write { ctx in
                let stored = try #require(try ctx.task(id: "t1"))
                try ctx.save(saved, replacing: stored)
                #expect(try ctx.task(id: "t1") == saved)
                // Nothing changed: nothing written, nothing counted twice.
                try ctx.save(saved, replacing: saved)
            }
            let reader = try StoreReader(path: path)
            #expect(try reader.task(id: "t1") == saved)
            #expect(try reader.db.rows("SELECT created, finished_success, missed FROM task_rollup")
                    == [[.integer(1), .integer(1), .integer(1)]])
            await writer.close()
        }
    }

    /// With the writer's own autocheckpoint out of reach, committed pages reach the database
    /// file only through the checkpointer thread; without it they stay in the WAL.
    @Test(arguments: [true, false])
    func theCheckpointerCopiesCommittedFramesIntoTheDatabaseFile(withCheckpointer: Bool) async throws {
        try await withTemporaryDatabase { path in
            var configuration = StoreConfiguration()
            configuration.clock = TestClock(t0)
            configuration.walAutocheckpointPages = 1_000_000
            configuration.checkpointInterval = withCheckpointer ? .milliseconds(20) : nil
            let writer = try StoreWriter(path: path, configuration: configuration)
            func fileSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
            let before = fileSize()
            for i in 0..<2_000 {
                writer.record(WebhookRecord(ts: t0 + Int64(i), family: .market, auth: .ok, result: .accepted,
                                            body: [UInt8](repeating: 0x61, count: 1_000)))
            }
            try await writer.flush()
            var grown = false
            for _ in 0..<100 where !grown {
                try await Task.sleep(for: .milliseconds(20))
                grown = fileSize() > before + 1_000_000
            }
            #expect(grown == withCheckpointer)
            await writer.close()
        }
    }

    struct Refused: Error, Equatable {}

    @Test func aFailingClosureRollsBackAloneWhileItsBatchCommits() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let (holder, release) = try await holdWriter(writer)
            let failing = Task {
                try await writer.write { context in
                    try context.save(task("doomed"))
                    try context.insert(call(taskID: "doomed"))
                    throw Refused()
                }
            }
            try await waitUntil { writer.queueDepth == 1 }
            let succeeding = Task { try await writer.write { try $0.save(task("kept")) } }
            try await waitUntil { writer.queueDepth == 2 }
            writer.record(call(taskID: "fire-and-forget"))
            try await waitUntil { writer.queueDepth == 3 }
            let batchesBefore = writer.committedBatches
            release.signal()

            try await holder.value
            await #expect(throws: Refused.self) { try await failing.value }
            try await succeeding.value
            #expect(writer.committedBatches == batchesBefore + 2, "holder's batch, then one batch for the other three")

            let reader = try StoreReader(path: path)
            #expect(try reader.task(id: "doomed") == nil)
            #expect(try reader.task(id: "kept") != nil)
            #expect(try reader.db.rows("SELECT task_id FROM api_calls") == [[.text("fire-and-forget")]])
            // The rolled-back closure left no trace in the rollups either.
            let rollup = try reader.taskRollups(fromMinute: 0, toMinute: Int64.max)
            #expect(rollup.map(\.created) == [1])
            #expect(writer.storeErrors == 0)
            await writer.close()
        }
    }

    /// The batch runs first without per-closure savepoints; a closure that throws after others
    /// already wrote sends it round again with them. Whatever ran before the failure must then
    /// land exactly once: rows, task transitions and rollups.
    @Test func workDoneBeforeAFailingClosureInItsBatchLandsExactlyOnce() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let (holder, release) = try await holdWriter(writer)
            let before = Task {
                try await writer.write { context in
                    try context.save(task("before"))
                    try context.insert(call(taskID: "before"))
                    return try context.task(id: "before")?.taskID
                }
            }
            try await waitUntil { writer.queueDepth == 1 }
            writer.record(call(taskID: "fire-and-forget"))
            try await waitUntil { writer.queueDepth == 2 }
            let failing = Task {
                try await writer.write { context in
                    try context.save(task("doomed"))
                    throw Refused()
                }
            }
            try await waitUntil { writer.queueDepth == 3 }
            let after = Task { try await writer.write { try $0.save(task("after")) } }
            try await waitUntil { writer.queueDepth == 4 }
            let batchesBefore = writer.committedBatches
            release.signal()

            try await holder.value
            #expect(try await before.value == "before")
            await #expect(throws: Refused.self) { try await failing.value }
            try await after.value
            #expect(writer.committedBatches == batchesBefore + 2, "holder's batch, then one commit for the four")

            let reader = try StoreReader(path: path)
            #expect(try reader.db.rows("SELECT task_id FROM tasks ORDER BY task_id") == [[.text("after")], [.text("before")]])
            #expect(try reader.db.rows("SELECT task_id FROM api_calls ORDER BY id") == [[.text("before")], [.text("fire-and-forget")]])
            let rollup = try reader.taskRollups(fromMinute: 0, toMinute: Int64.max)
            #expect(rollup.map(\.created) == [2])
            let calls = try reader.db.rows("SELECT sum(calls) FROM call_rollup")
            #expect(calls == [[.integer(2)]])
            #expect(writer.storeErrors == 0 && writer.droppedRecords == 0)
            await writer.close()
        }
    }

    /// The in-flight gauge reads the writer's open-task counts: they must agree with the file
    /// after opens, finishes, a model learned late, a closure that failed, and a restart.
    @Test func openTaskCountsFollowCommittedSavesAndSurviveARestart() async throws {
        try await withTemporaryDatabase { path in
            func counted(_ reader: StoreReader) throws -> [String: Int] {
                var out: [String: Int] = [:]
                for row in try reader.db.rows(
                    "SELECT model, count(*) FROM tasks WHERE state NOT IN ('success', 'fail') GROUP BY model")
                {
                    out[row[0].string!] = Int(row[1].int64!)
                }
                return out
            }
            let writer = try openWriter(path)
            #expect(writer.openTasksByModel.isEmpty)
            try await writer.write { ctx in
                for i in 0..<3 { try ctx.save(task("a\(i)", model: "kling")) }
                for i in 0..<2 { try ctx.save(task("b\(i)", model: "veo3", state: .generating)) }
                try ctx.save(task("done", model: "kling", state: .success))
                try ctx.save(task("unknown", model: "unknown"))
            }
            #expect(writer.openTasksByModel == ["kling": 3, "veo3": 2, "unknown": 1])

            try await writer.write { ctx in
                try ctx.save(task("a0", model: "kling", state: .success))
                try ctx.save(task("b0", model: "veo3", state: .fail))
                try ctx.save(task("b1", model: "veo3", state: .success))
                try ctx.save(task("unknown", model: "sora-2", state: .generating))  // model learned later
                try ctx.save(task("a1", model: "kling", state: .generating))         // open to open
                try ctx.save(task("done", model: "kling", state: .success))          // terminal again
            }
            #expect(writer.openTasksByModel == ["kling": 2, "sora-2": 1])

            await #expect(throws: Refused.self) {
                try await writer.write { ctx in
                    try ctx.save(task("c0", model: "wan"))
                    try ctx.save(task("a2", model: "kling", state: .success))
                    throw Refused()
                }
            }
            #expect(writer.openTasksByModel == ["kling": 2, "sora-2": 1])
            let reader = try StoreReader(path: path)
            #expect(try counted(reader) == writer.openTasksByModel)
            await writer.close()

            let reopened = try openWriter(path)
            #expect(reopened.openTasksByModel == ["kling": 2, "sora-2": 1])
            await reopened.close()
        }
    }

    @Test func aFailedCommitFailsItsWholeBatchAndTheWriterCarriesOn() async throws {
        try await withTemporaryDatabase { path in
            let errors = Locked<[StoreError]>([])
            var configuration = StoreConfiguration()
            configuration.onError = { error in errors.update { $0.append(error) } }
            let writer = try StoreWriter(path: path, configuration: configuration)

            let (holder, release) = try await holdWriter(writer)
            // A deferred foreign-key violation passes its savepoint and fails at COMMIT: a real
            // commit failure, like a full disk, for the batch it lands in.
            let poison = Task {
                try await writer.write { context in
                    try context.execute("PRAGMA defer_foreign_keys = ON")
                    try context.insert(RelayAttemptRecord(outboxID: 424_242, ts: t0, durationMicros: 1))
                }
            }
            try await waitUntil { writer.queueDepth == 1 }
            let bystander = Task { try await writer.write { try $0.save(task("bystander")) } }
            try await waitUntil { writer.queueDepth == 2 }
            writer.record(call(taskID: "lost-with-the-batch"))
            let flushed = Task { try await writer.flush() }
            try await waitUntil { writer.queueDepth == 4 }
            release.signal()
            try await holder.value

            for outcome in [await poison.result, await bystander.result, await flushed.result] {
                #expect(throws: StoreError.self) { try outcome.get() }
            }
            #expect(writer.storeErrors == 1)
            #expect(writer.droppedRecords == 1)
            #expect(writer.openTasksByModel.isEmpty, "the bystander's open task was never committed")
            #expect(errors.value.count == 1)
            #expect(errors.value.first?.description.contains("FOREIGN KEY constraint failed") == true)

            // Later batches commit normally.
            try await writer.write { try $0.save(task("after")) }
            let reader = try StoreReader(path: path)
            #expect(try reader.task(id: "bystander") == nil)
            #expect(try reader.task(id: "after") != nil)
            #expect(try reader.count(of: "api_calls") == 0)
            await writer.close()
        }
    }

    @Test func closeCommitsEverythingThenRefusesMore() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            for i in 0..<500 { writer.record(call(ts: t0 + Int64(i))) }
            await writer.close()
            #expect(writer.record(call()) == false)
            #expect(writer.droppedRecords == 1)
            let error = await #expect(throws: StoreError.self) { try await writer.write { _ in 1 } }
            #expect(error?.kind == .closed)
            await writer.close()  // idempotent
            #expect(try StoreReader(path: path).count(of: "api_calls") == 500)
        }
    }

    /// A second `close` (the second signal's stop, while the graceful one is closing) returns
    /// only once the first has committed what was queued and closed the file, never before.
    @Test func aCloseDuringACloseWaitsForItToFinish() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let order = Mutex<[String]>([])
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            // Holds the writer thread inside a batch, so both closes are asked for meanwhile.
            writer.write({ _ in
                entered.signal()
                release.wait()
            }, completion: { _ in order.withLock { $0.append("held batch committed") } })
            entered.wait()
            for i in 0..<100 { writer.record(call(ts: t0 + Int64(i))) }
            writer.close(then: { order.withLock { $0.append("first close") } })
            writer.close(then: { order.withLock { $0.append("second close") } })
            #expect(order.withLock { $0 }.isEmpty, "no close may finish while the writer is still committing")
            release.signal()
            await writer.close()  // a third, awaited: also after the first
            let steps = order.withLock { $0 }
            #expect(steps == ["held batch committed", "first close", "second close"])
            #expect(try StoreReader(path: path).count(of: "api_calls") == 100)
            await writer.close()  // closed: at once
        }
    }

    @Test func storedPathsAreRedacted() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            writer.record(call(path: "/api/v1/jobs/recordInfo?taskId=t1&secret=s3cr3t&api_key=k3y&Token=tok"))
            try await writer.flush()
            let stored = try StoreReader(path: path).db.rows("SELECT path FROM api_calls")
            #expect(stored == [[.text("/api/v1/jobs/recordInfo?taskId=t1&secret=REDACTED&api_key=REDACTED&Token=REDACTED")]])
            await writer.close()
        }
    }
}
