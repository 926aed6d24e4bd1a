import Testing
import KieWatchMetrics

struct HistogramTests {
    @Test func bucketsAreCumulativeWithInfAndSumCount() {
        let registry = MetricRegistry()
        let histogram = registry.histogram(
            "kiewatch_task_duration_seconds", help: "Task time.", labelNames: ["model"],
            buckets: HistogramBuckets([1, 10, 60])
        ).labels("veo3")
        for value in [0.5, 1, 1.5, 30, 60, 61, 3600] { histogram.observe(value) }
        #expect(histogram.count == 7)
        #expect(histogram.sum == 3754)
        #expect(registry.renderString(.prometheusText) == """
            # HELP kiewatch_task_duration_seconds Task time.
            # TYPE kiewatch_task_duration_seconds histogram
            kiewatch_task_duration_seconds_bucket{model="veo3",le="1"} 2
            kiewatch_task_duration_seconds_bucket{model="veo3",le="10"} 3
            kiewatch_task_duration_seconds_bucket{model="veo3",le="60"} 5
            kiewatch_task_duration_seconds_bucket{model="veo3",le="+Inf"} 7
            kiewatch_task_duration_seconds_sum{model="veo3"} 3754
            kiewatch_task_duration_seconds_count{model="veo3"} 7

            """)
    }

    /// One NaN or infinity would make `_sum` NaN or +Inf for the life of the process.
    @Test func nonFiniteObservationsAreDropped() {
        let registry = MetricRegistry()
        let histogram = registry.histogram("d_seconds", help: "", buckets: HistogramBuckets([1])).labels()
        histogram.observe(0.5)
        for value in [Double.nan, .infinity, -.infinity] {
            histogram.observe(value)
            histogram.observe(value, exemplar: ["task_id": "t"])
        }
        histogram.observe(2)
        #expect(histogram.count == 2)
        #expect(histogram.sum == 2.5)
        #expect(!registry.renderString(.openMetrics).contains("task_id"))
    }

    @Test func eachBucketKeepsItsLatestExemplar() {
        let registry = MetricRegistry(clock: { 1_700_000_000.25 })
        let histogram = registry.histogram("d_seconds", help: "", buckets: HistogramBuckets([1, 10])).labels()
        histogram.observe(0.5, exemplar: ["task_id": "first"], timestamp: 1_700_000_000)
        histogram.observe(0.75, exemplar: ["task_id": "second", "model": "veo3"], timestamp: 1_700_000_001.5)
        histogram.observe(99, exemplar: ["task_id": "x\"y"])  // timestamp from the registry clock
        histogram.observe(5)
        #expect(registry.renderString(.openMetrics) == #"""
            # TYPE d_seconds histogram
            d_seconds_bucket{le="1.0"} 2 # {task_id="second",model="veo3"} 0.75 1700000001.5
            d_seconds_bucket{le="10.0"} 3
            d_seconds_bucket{le="+Inf"} 4 # {task_id="x\"y"} 99 1700000000.25
            d_seconds_sum 105.25
            d_seconds_count 4
            d_seconds_created 1700000000.25
            # EOF

            """#)
        // Prometheus text 0.0.4 has no exemplar syntax.
        #expect(!registry.renderString(.prometheusText).contains("task_id"))
    }

    @Test func exemplarOverTheOpenMetricsLimitIsDroppedButCounted() {
        let registry = MetricRegistry(clock: { 0 })
        let histogram = registry.histogram("d_seconds", help: "", buckets: HistogramBuckets([1])).labels()
        histogram.observe(0.5, exemplar: ["task_id": String(repeating: "x", count: 121)])
        histogram.observe(0.5, exemplar: ["task_id": String(repeating: "y", count: 200)])
        let output = registry.renderString(.openMetrics)
        #expect(output.contains(#"d_seconds_bucket{le="1.0"} 2 # {task_id="xxx"#))
        #expect(!output.contains("yyy"))
    }

    @Test func concurrentObservationsCountExactly() async {
        let histogram = MetricRegistry().histogram("d_seconds", help: "", buckets: .longDurations).labels()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask { for _ in 0..<5_000 { histogram.observe(Double(worker) * 100) } }
            }
        }
        #expect(histogram.count == 40_000)
        #expect(histogram.sum == 5_000 * 100 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7))
    }

    @Test func presetsReachTheirDocumentedRanges() {
        #expect(HistogramBuckets.apiLatency.upperBounds.first == 0.001)
        #expect(HistogramBuckets.apiLatency.upperBounds.last == 60)
        #expect(HistogramBuckets.longDurations.upperBounds == [
            1, 5, 10, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600,
        ])
    }
}
