import Testing
@testable import KieWatchMetrics

/// Builds the same small registry for the whole-output tests of both formats: labels that
/// need escaping, a HELP that needs escaping, unsorted registration, every family kind.
private func sampleRegistry() -> MetricRegistry {
    let registry = MetricRegistry(clock: { 1_700_000_000.5 })
    let inflight = registry.gauge("kiewatch_tasks_inflight", help: "Tasks in flight.", labelNames: ["model"])
    inflight.labels("veo3").set(2)
    inflight.labels("sora-2-text-to-video").set(-1.5)
    let requests = registry.counter(
        "kiewatch_api_requests_total", help: #"API calls \ by "endpoint""# + "\nand code.",
        labelNames: ["endpoint", "model", "code"]
    )
    requests.labels("record_info", "a\"b\\c\nd", "error").increment(by: 0.5)
    requests.labels("create_task", "veo3", "200").increment(by: 3)
    requests.labels("create_task", "sora-2-text-to-video", "200").increment()
    _ = registry.counter("kiewatch_store_errors_total", help: "Store errors.")
    registry.gaugeFunction("kiewatch_relay_queue_depth", help: "Relays waiting.") { 7 }
    let relay = registry.histogram(
        "kiewatch_relay_duration_seconds", help: "Relay time.", buckets: HistogramBuckets([0.005, 1, 2.5]),
        unit: "seconds"
    ).labels()
    relay.observe(0.00390625)
    relay.observe(0.75)
    relay.observe(2.5, exemplar: ["task_id": "abc"], timestamp: 1_700_000_000.123)
    relay.observe(10)
    return registry
}

struct MetricRegistryTests {
    @Test func prometheusTextWholeOutput() {
        let expected = #"""
        # HELP kiewatch_api_requests_total API calls \\ by "endpoint"\nand code.
        # TYPE kiewatch_api_requests_total counter
        kiewatch_api_requests_total{endpoint="create_task",model="sora-2-text-to-video",code="200"} 1
        kiewatch_api_requests_total{endpoint="create_task",model="veo3",code="200"} 3
        kiewatch_api_requests_total{endpoint="record_info",model="a\"b\\c\nd",code="error"} 0.5
        # HELP kiewatch_relay_duration_seconds Relay time.
        # TYPE kiewatch_relay_duration_seconds histogram
        kiewatch_relay_duration_seconds_bucket{le="0.005"} 1
        kiewatch_relay_duration_seconds_bucket{le="1"} 2
        kiewatch_relay_duration_seconds_bucket{le="2.5"} 3
        kiewatch_relay_duration_seconds_bucket{le="+Inf"} 4
        kiewatch_relay_duration_seconds_sum 13.25390625
        kiewatch_relay_duration_seconds_count 4
        # HELP kiewatch_relay_queue_depth Relays waiting.
        # TYPE kiewatch_relay_queue_depth gauge
        kiewatch_relay_queue_depth 7
        # HELP kiewatch_store_errors_total Store errors.
        # TYPE kiewatch_store_errors_total counter
        kiewatch_store_errors_total 0
        # HELP kiewatch_tasks_inflight Tasks in flight.
        # TYPE kiewatch_tasks_inflight gauge
        kiewatch_tasks_inflight{model="sora-2-text-to-video"} -1.5
        kiewatch_tasks_inflight{model="veo3"} 2

        """#
        #expect(sampleRegistry().renderString(.prometheusText) == expected)
    }

    @Test func openMetricsWholeOutput() {
        let expected = #"""
        # TYPE kiewatch_api_requests counter
        # HELP kiewatch_api_requests API calls \\ by \"endpoint\"\nand code.
        kiewatch_api_requests_total{endpoint="create_task",model="sora-2-text-to-video",code="200"} 1
        kiewatch_api_requests_created{endpoint="create_task",model="sora-2-text-to-video",code="200"} 1700000000.5
        kiewatch_api_requests_total{endpoint="create_task",model="veo3",code="200"} 3
        kiewatch_api_requests_created{endpoint="create_task",model="veo3",code="200"} 1700000000.5
        kiewatch_api_requests_total{endpoint="record_info",model="a\"b\\c\nd",code="error"} 0.5
        kiewatch_api_requests_created{endpoint="record_info",model="a\"b\\c\nd",code="error"} 1700000000.5
        # TYPE kiewatch_relay_duration_seconds histogram
        # UNIT kiewatch_relay_duration_seconds seconds
        # HELP kiewatch_relay_duration_seconds Relay time.
        kiewatch_relay_duration_seconds_bucket{le="0.005"} 1
        kiewatch_relay_duration_seconds_bucket{le="1.0"} 2
        kiewatch_relay_duration_seconds_bucket{le="2.5"} 3 # {task_id="abc"} 2.5 1700000000.123
        kiewatch_relay_duration_seconds_bucket{le="+Inf"} 4
        kiewatch_relay_duration_seconds_sum 13.25390625
        kiewatch_relay_duration_seconds_count 4
        kiewatch_relay_duration_seconds_created 1700000000.5
        # TYPE kiewatch_relay_queue_depth gauge
        # HELP kiewatch_relay_queue_depth Relays waiting.
        kiewatch_relay_queue_depth 7
        # TYPE kiewatch_store_errors counter
        # HELP kiewatch_store_errors Store errors.
        kiewatch_store_errors_total 0
        kiewatch_store_errors_created 1700000000.5
        # TYPE kiewatch_tasks_inflight gauge
        # HELP kiewatch_tasks_inflight Tasks in flight.
        kiewatch_tasks_inflight{model="sora-2-text-to-video"} -1.5
        kiewatch_tasks_inflight{model="veo3"} 2
        # EOF

        """#
        #expect(sampleRegistry().renderString(.openMetrics) == expected)
    }

    @Test func renderingTwiceGivesTheSameBytes() {
        let registry = sampleRegistry()
        #expect(registry.render(.prometheusText) == registry.render(.prometheusText))
        #expect(registry.render(.openMetrics) == registry.render(.openMetrics))
    }

    @Test func familiesAreListedByName() {
        let registry = MetricRegistry()
        _ = registry.gauge("b_gauge", help: "b")
        _ = registry.counter("c_total", help: "c")
        _ = registry.gauge("a_gauge", help: "a")
        #expect(registry.familyNames == ["a_gauge", "b_gauge", "c_total"])
    }

    @Test func registeringTheSameFamilyTwiceReturnsTheFirst() {
        let registry = MetricRegistry()
        let first = registry.counter("x_total", help: "x", labelNames: ["model"])
        let second = registry.counter("x_total", help: "x", labelNames: ["model"])
        #expect(first === second)
        first.labels("m").increment()
        #expect(second.labels("m").value == 1)
        let histogram = registry.histogram("h_seconds", help: "h", buckets: .apiLatency)
        #expect(histogram === registry.histogram("h_seconds", help: "h", buckets: .apiLatency))
    }

    @Test func labelledFamilyWithoutSeriesWritesOnlyItsHeader() {
        let registry = MetricRegistry()
        _ = registry.gauge("kiewatch_tasks_stale", help: "Stale tasks.", labelNames: ["model"])
        #expect(registry.renderString(.prometheusText) == """
            # HELP kiewatch_tasks_stale Stale tasks.
            # TYPE kiewatch_tasks_stale gauge

            """)
    }

    @Test func emptyHelpWritesNoHelpLine() {
        let registry = MetricRegistry()
        registry.gaugeFunction("x", help: "") { 1 }
        #expect(registry.renderString(.prometheusText) == "# TYPE x gauge\nx 1\n")
        #expect(registry.renderString(.openMetrics) == "# TYPE x gauge\nx 1\n# EOF\n")
    }

    @Test func counterFunctionHasNoCreatedSample() {
        let registry = MetricRegistry()
        registry.counterFunction("cpu_seconds_total", help: "CPU.", unit: "seconds") { 1.25 }
        #expect(registry.renderString(.openMetrics) == """
            # TYPE cpu_seconds counter
            # UNIT cpu_seconds seconds
            # HELP cpu_seconds CPU.
            cpu_seconds_total 1.25
            # EOF

            """)
    }

    @Test func seriesHandlesAreSharedAcrossConcurrentCreation() async {
        let family = MetricRegistry().counter("x_total", help: "x", labelNames: ["a", "b"])
        let handles = await withTaskGroup(of: Counter.self) { group in
            for _ in 0..<32 { group.addTask { family.labels("one", "two") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(handles.allSatisfy { $0 === handles[0] })
        #expect(handles[0].labelValues == ["one", "two"])
    }
}
