import KieWatchCore
import KieWatchTestSupport
import Testing

@testable import KieWatchStore

struct LatencyBucketsTests {
    @Test func layoutIsFixedAndLogScale() {
        let bounds = LatencyBuckets.upperBoundsMicros
        #expect(bounds.count == 56)
        #expect(Array(bounds.prefix(8)) == [100, 141, 200, 283, 400, 566, 800, 1_131])
        #expect(bounds[54] == 100 << 27)
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        #expect(LatencyBuckets.count == 57)
    }

    @Test(arguments: [
        (Int64(-5), 0), (0, 0), (100, 0), (101, 1), (141, 1), (142, 2), (1_000, 7), (1_131, 7), (1_132, 8),
        (100 << 27, 54), (Int64.max, 56),
    ])
    func bucketIndex(micros: Int64, expected: Int) {
        #expect(LatencyBuckets.index(micros: micros) == expected)
    }

    @Test func percentilesInterpolateInsideBuckets() {
        var counts = [UInt64](repeating: 0, count: LatencyBuckets.count)
        counts[0] = 4  // (0, 100]
        counts[1] = 4  // (100, 141]
        #expect(LatencyBuckets.percentile(0.5, counts: counts) == 100)
        #expect(LatencyBuckets.percentile(0.75, counts: counts) == 120.5)  // 100 + 41 * 2/4
        #expect(LatencyBuckets.percentile(0.25, counts: counts) == 50)
        #expect(LatencyBuckets.percentile(1, counts: counts) == 141)
        counts[56] = 8  // overflow: reported as the last finite bound
        #expect(LatencyBuckets.percentile(0.99, counts: counts) == Double(LatencyBuckets.upperBoundsMicros[55]))
        #expect(LatencyBuckets.percentile(0.5, counts: [UInt64](repeating: 0, count: 57)) == nil)
    }

    @Test func blobsRoundTripAndMergeSaturating() {
        let a = LatencyBuckets.encode([1, 2, UInt32.max])
        let b = LatencyBuckets.encode([10, 20, 5, 7])
        #expect(a == [1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255])
        let merged = a.withUnsafeBytes { x in b.withUnsafeBytes { y in LatencyBuckets.add(x, y) } }
        #expect(Array(LatencyBuckets.decode(merged).prefix(4)) == [11, 22, UInt64(UInt32.max), 7])
    }

    @Test func callRollupsCountExactlyAcrossBatches() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let minute = RollupAccumulator.minute(t0)
            // Latencies chosen per bucket: 50 -> 0, 120 -> 1, 150 -> 2, 5_000 -> 12 (4_525, 6_400].
            writer.record(call(ts: t0, latencyMicros: 50))
            writer.record(call(ts: t0 + 1_000, latencyMicros: 120))
            try await writer.flush()  // the rest lands in a later batch: merged by kw_buckets_add
            writer.record(call(ts: t0 + 59_999, latencyMicros: 150))
            writer.record(call(ts: t0 + 30_000, latencyMicros: 5_000))
            writer.record(call(ts: t0, httpStatus: 200, bodyCode: 422, latencyMicros: 120, outcome: .apiError))
            writer.record(call(ts: t0 + 60_000, latencyMicros: 1))  // next minute
            try await writer.flush()
            let reader = try StoreReader(path: path)

            let window = try reader.callRollups(fromMinute: minute, toMinute: minute + 1)
            #expect(window.map(\.code) == ["200", "422"])
            let ok = window[0]
            #expect(ok.endpoint == "create_task" && ok.model == "kling-2.6/text-to-video")
            #expect(ok.calls == 4 && ok.errors == 0)
            #expect(ok.latencySumMicros == 50 + 120 + 150 + 5_000)
            #expect(ok.latencyMaxMicros == 5_000)
            var expected = [UInt64](repeating: 0, count: LatencyBuckets.count)
            expected[0] = 1
            expected[1] = 1
            expected[2] = 1
            expected[12] = 1
            #expect(ok.buckets == expected)
            // p50 = rank 2 of 4: top of bucket 1 (141); p75 = rank 3: top of bucket 2 (200).
            #expect(LatencyBuckets.percentile(0.5, counts: ok.buckets) == 141)
            #expect(LatencyBuckets.percentile(0.75, counts: ok.buckets) == 200)
            #expect(window[1].calls == 1 && window[1].errors == 1)

            let both = try reader.callRollups(fromMinute: minute, toMinute: minute + 2)
            #expect(both.first { $0.code == "200" }?.calls == 5)
            await writer.close()
        }
    }

    @Test func taskRollupsFollowTransitionsOnce() async throws {
        try await withTemporaryDatabase { path in
            let writer = try openWriter(path)
            let minute = RollupAccumulator.minute(t0)
            var t = task("t1", model: "veo3_fast", createdAt: t0)
            try await writer.write { [t] in try $0.save(t) }
            t.state = .generating
            t.updatedAt = t0 + 5_000
            try await writer.write { [t] in try $0.save(t) }
            t.state = .success
            t.completedAt = t0 + 90_000   // Kie says 90 s
            t.finishedAt = t0 + 125_000   // learned by a recovery poll in minute + 2
            t.missed = true
            t.resultSource = .recovery
            try await writer.write { [t] in try $0.save(t) }
            try await writer.write { [t] in try $0.save(t) }  // saved twice: counted once

            let reader = try StoreReader(path: path)
            let created = try reader.taskRollups(fromMinute: minute, toMinute: minute + 1)
            #expect(created == [TaskRollup(model: "veo3_fast", created: 1)])
            let finished = try #require(try reader.taskRollups(fromMinute: minute + 2, toMinute: minute + 3).first)
            #expect(finished.created == 0)
            #expect(finished.finishedSuccess == 1 && finished.finishedFail == 0)
            #expect(finished.missed == 1)
            #expect(finished.durationSumMicros == 90_000_000)
            // 90 s = 90,000,000 µs falls in bucket 40: (74,145,598, 104,857,600].
            #expect(finished.buckets[40] == 1 && finished.buckets.reduce(0, +) == 1)
            await writer.close()
        }
    }
}
