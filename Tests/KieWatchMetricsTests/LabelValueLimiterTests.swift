import Testing
import KieWatchMetrics

struct LabelValueLimiterTests {
    @Test func keepsTheFirstValuesAndFoldsTheRest() {
        let limiter = LabelValueLimiter(limit: 2)
        #expect(limiter.fold("a") == "a")
        #expect(limiter.fold("b") == "b")
        #expect(limiter.fold("c") == "other")
        #expect(limiter.fold("a") == "a")
        #expect(limiter.fold("other") == "other")
        #expect(limiter.admittedValues == ["a", "b"])
    }

    @Test func defaultCapIs64() {
        let limiter = LabelValueLimiter()
        for index in 0..<64 { #expect(limiter.fold("model-\(index)") == "model-\(index)") }
        #expect(limiter.fold("model-64") == "other")
    }

    @Test func familiesFoldPastTheCapIntoOneOtherSeries() {
        let models = LabelValueLimiter(limit: 2)
        let registry = MetricRegistry()
        let created = registry.counter("tasks_created_total", help: "", labelNames: ["model"], limiters: ["model": models])
        let requests = registry.counter(
            "api_requests_total", help: "", labelNames: ["endpoint", "model"], limiters: ["model": models]
        )
        for model in ["veo3", "kling", "sora", "runway", "veo3"] { created.labels(model).increment() }
        requests.labels("create_task", "runway").increment()
        requests.labels("create_task", "kling").increment()
        #expect(created.labels("sora") === created.labels("other"))
        #expect(registry.renderString(.prometheusText) == """
            # TYPE api_requests_total counter
            api_requests_total{endpoint="create_task",model="kling"} 1
            api_requests_total{endpoint="create_task",model="other"} 1
            # TYPE tasks_created_total counter
            tasks_created_total{model="kling"} 1
            tasks_created_total{model="other"} 2
            tasks_created_total{model="veo3"} 2

            """)
    }
}
