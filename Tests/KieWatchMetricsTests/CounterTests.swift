import Testing
import KieWatchMetrics

struct CounterTests {
    @Test func concurrentIncrementsSumExactly() async {
        let counter = MetricRegistry().counter("x_total", help: "x", labelNames: ["model"]).labels("veo3")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask { for _ in 0..<10_000 { counter.increment() } }
            }
        }
        #expect(counter.value == 160_000)
    }

    @Test func concurrentFractionalIncrementsSumExactly() async {
        // 0.25 is exact in binary, so any interleaving must give the exact sum.
        let counter = MetricRegistry().counter("credits_total", help: "x").labels()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<5_000 { counter.increment(by: 0.25) } }
            }
        }
        #expect(counter.value == 10_000)
    }

    @Test func wholeAndFractionalIncrementsAdd() {
        let counter = MetricRegistry().counter("x_total", help: "x").labels()
        counter.increment()
        counter.increment(by: 2)
        counter.increment(by: 4.0)
        counter.increment(by: 0.5)
        #expect(counter.value == 7.5)
    }

    @Test func restoreSetsTheStartingTotalAndCreatedTime() {
        let registry = MetricRegistry(clock: { 1_700_000_000 })
        let family = registry.counter("kiewatch_tasks_created_total", help: "Tasks.", labelNames: ["model"])
        family.labels("veo3").restore(to: 42, createdAt: 1_600_000_000)
        family.labels("veo3").increment()
        let fractional = family.labels("kling")
        fractional.restore(to: 12.75, createdAt: nil)
        fractional.increment()
        #expect(fractional.value == 13.75)
        #expect(registry.renderString(.openMetrics) == """
            # TYPE kiewatch_tasks_created counter
            # HELP kiewatch_tasks_created Tasks.
            kiewatch_tasks_created_total{model="kling"} 13.75
            kiewatch_tasks_created_total{model="veo3"} 43
            kiewatch_tasks_created_created{model="veo3"} 1600000000
            # EOF

            """)
    }
}
