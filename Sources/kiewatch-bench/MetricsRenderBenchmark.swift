import KieWatchSimulator
import KieWatchMetrics
#if canImport(Glibc)
import Glibc
#endif

/// Measures how long `/metrics` takes to render with `series` time series shaped like
/// kiewatch's own families (the design target: 10,000 series in at most 10 ms).
///
/// A series is counted as Prometheus counts it: every sample line is one, so a histogram
/// with 15 bounds contributes 18 (16 buckets, `_sum`, `_count`). The per-model histograms
/// and small families are registered first; `kiewatch_api_requests_total` then takes
/// (code, endpoint, model) combinations until the total reaches `series`.
func runMetricsRenderBenchmark(series: Int) {
    let registry = MetricRegistry()
    let models = LabelValueLimiter()
    let modelIDs = (0..<LabelValueLimiter.defaultLimit).map { "vendor-\($0 % 8)/model-\($0)-text-to-video" }
    let endpoints = ["create_task", "record_info", "veo_generate", "veo_record_info", "credit", "upload", "other"]
    var exposed = 0
    var generator = SeededRandom(seed: 42)

    func histogramFamily(_ name: String, labelNames: [String], buckets: HistogramBuckets) -> HistogramFamily {
        registry.histogram(name, help: "Benchmark histogram.", labelNames: labelNames, buckets: buckets,
                           unit: "seconds", limiters: ["model": models])
    }
    func fill(_ family: HistogramFamily, _ labelValues: String..., scale: Double) {
        let histogram = family.labels(labelValues)
        for index in 0..<20 {
            let value = generator.unit() * scale
            if index == 0 { histogram.observe(value, exemplar: ["task_id": "task-\(generator.next())"]) } else {
                histogram.observe(value)
            }
        }
        exposed += family.buckets.upperBounds.count + 3  // + Inf bucket, _sum, _count
    }

    let taskDuration = histogramFamily("kiewatch_task_duration_seconds", labelNames: ["model"], buckets: .longDurations)
    let webhookDelay = histogramFamily("kiewatch_webhook_delay_seconds", labelNames: ["model"], buckets: .longDurations)
    let apiDuration = histogramFamily("kiewatch_api_request_duration_seconds", labelNames: ["endpoint", "model"],
                                      buckets: .apiLatency)
    for model in modelIDs {
        fill(taskDuration, model, scale: 900)
        fill(webhookDelay, model, scale: 60)
        for endpoint in endpoints.prefix(2) { fill(apiDuration, endpoint, model, scale: 2) }
    }
    let perModelCounters: [(String, [String])] = [
        ("kiewatch_tasks_created_total", []), ("kiewatch_tasks_finished_total", ["success", "fail"]),
        ("kiewatch_webhooks_received_total", ["accepted", "duplicate", "unauthorized", "malformed", "unknown_task"]),
        ("kiewatch_webhooks_missed_total", []), ("kiewatch_credits_consumed_total", []),
        ("kiewatch_recovery_polls_total", ["recovered", "still_running", "not_found", "error"]),
    ]
    for (name, results) in perModelCounters {
        let family = registry.counter(name, help: "Benchmark counter.", labelNames: results.isEmpty ? ["model"] : ["model", "result"],
                                      limiters: ["model": models])
        for model in modelIDs {
            for result in results.isEmpty ? [nil] : results.map(Optional.some) {
                family.labels(result.map { [model, $0] } ?? [model]).increment(by: Int(generator.next() % 10_000))
                exposed += 1
            }
        }
    }
    for name in ["kiewatch_tasks_inflight", "kiewatch_tasks_stale"] {
        let family = registry.gauge(name, help: "Benchmark gauge.", labelNames: ["model"], limiters: ["model": models])
        for model in modelIDs { family.labels(model).set(Double(generator.next() % 100)); exposed += 1 }
    }
    registry.registerProcessMetrics()
    exposed += 7
    let requests = registry.counter("kiewatch_api_requests_total", help: "Kie API calls.",
                                    labelNames: ["endpoint", "model", "code"], limiters: ["model": models])
    let codes = ["200", "400", "401", "402", "404", "422", "429", "433", "455", "500", "501", "505", "error", "timeout"]
    fillRequests: for code in codes {
        for endpoint in endpoints {
            for model in modelIDs {
                guard exposed < series else { break fillRequests }
                requests.labels(endpoint, model, code).increment(by: Int(generator.next() % 1_000_000))
                exposed += 1
            }
        }
    }

    for (format, label) in [(ExpositionFormat.prometheusText, "text 0.0.4"), (.openMetrics, "OpenMetrics")] {
        var bytes = 0
        for _ in 0..<20 { bytes = registry.render(format).count }  // warm up caches and capacity
        var wall: [Double] = []
        var cpu: [Double] = []
        for _ in 0..<300 {
            let start = ContinuousClock.now
            let cpuStart = threadCPUMilliseconds()
            bytes = registry.render(format).count
            cpu.append(threadCPUMilliseconds() - cpuStart)
            wall.append(milliseconds(ContinuousClock.now - start))
        }
        wall.sort()
        cpu.sort()
        // Wall time is what a scraper waits; thread CPU time leaves out the time other
        // processes on a shared machine took the core, so it is the steadier figure.
        print("metrics render \(label): \(exposed) series, \(bytes) bytes, "
              + "wall median \(format2(wall[wall.count / 2])) ms p99 \(format2(wall[wall.count * 99 / 100])) ms, "
              + "cpu median \(format2(cpu[cpu.count / 2])) ms p99 \(format2(cpu[cpu.count * 99 / 100])) ms "
              + "(target <= 10 ms)")
    }

    let counter = requests.labels("create_task", modelIDs[0], "200")
    let histogram = apiDuration.labels("create_task", modelIDs[0])
    let updates = 10_000_000
    var start = ContinuousClock.now
    for _ in 0..<updates { counter.increment() }
    let incrementNanoseconds = milliseconds(ContinuousClock.now - start) * 1e6 / Double(updates)
    start = ContinuousClock.now
    for index in 0..<updates { histogram.observe(Double(index & 1023) * 0.001) }
    let observeNanoseconds = milliseconds(ContinuousClock.now - start) * 1e6 / Double(updates)
    print("metrics hot path: counter increment \(format2(incrementNanoseconds)) ns, "
          + "histogram observe \(format2(observeNanoseconds)) ns (one thread)")
}

private func threadCPUMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) * 1e3 + Double(now.tv_nsec) / 1e6
}

private func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}

private func format2(_ value: Double) -> String {
    let hundredths = (value * 100).rounded()
    let whole = Int(hundredths / 100)
    let fraction = Int(hundredths.truncatingRemainder(dividingBy: 100))
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}

