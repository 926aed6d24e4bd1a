import Testing
import KieWatchMetrics

struct GaugeTests {
    @Test func setIncrementDecrement() {
        let gauge = MetricRegistry().gauge("x", help: "x").labels()
        gauge.set(10)
        gauge.increment()
        gauge.decrement(by: 3.5)
        #expect(gauge.value == 7.5)
    }

    @Test func concurrentIncrementsAndDecrementsBalance() async {
        let gauge = MetricRegistry().gauge("inflight", help: "x", labelNames: ["model"]).labels("veo3")
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for _ in 0..<5_000 { worker.isMultiple(of: 2) ? gauge.increment() : gauge.decrement(by: 0.5) }
                }
            }
        }
        #expect(gauge.value == 4 * 5_000 - 4 * 2_500)
    }

    @Test func specialValuesAreSpelledAsPrometheusExpects() {
        let registry = MetricRegistry()
        let family = registry.gauge("x", help: "", labelNames: ["v"])
        family.labels("a").set(.nan)
        family.labels("b").set(.infinity)
        family.labels("c").set(-.infinity)
        family.labels("d").set(1e20)
        family.labels("e").set(0.1 + 0.2)
        #expect(registry.renderString(.prometheusText) == """
            # TYPE x gauge
            x{v="a"} NaN
            x{v="b"} +Inf
            x{v="c"} -Inf
            x{v="d"} 1e+20
            x{v="e"} 0.30000000000000004

            """)
    }
}
