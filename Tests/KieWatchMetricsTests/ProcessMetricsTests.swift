import Testing
import KieWatchMetrics

struct ProcessMetricsTests {
    @Test func readsPlausibleValues() throws {
        let metrics = ProcessMetrics.current()
        let resident = try #require(metrics.residentMemoryBytes)
        let virtual = try #require(metrics.virtualMemoryBytes)
        #expect(resident > 1_000_000)
        #expect(virtual >= resident)
        #expect(try #require(metrics.openFileDescriptors) >= 3)  // at least stdin, stdout, stderr
        #expect(try #require(metrics.maxFileDescriptors) >= metrics.openFileDescriptors!)
        #expect(try #require(metrics.cpuSeconds) > 0)
        let start = try #require(metrics.startTimeSeconds)
        let now = MetricRegistry.wallClock()
        #expect(start <= now + 1 && start > now - 86_400 * 30)
    }

    @Test func registersTheStandardFamilies() {
        let registry = MetricRegistry()
        registry.registerProcessMetrics()
        #expect(registry.familyNames == [
            "process_cpu_seconds_total", "process_max_fds", "process_open_fds", "process_resident_memory_bytes",
            "process_start_time_seconds", "process_virtual_memory_bytes", "process_virtual_memory_max_bytes",
        ])
        let text = registry.renderString(.prometheusText)
        #expect(text.contains("# HELP process_resident_memory_bytes Resident memory size in bytes.\n"))
        #expect(text.contains("# TYPE process_cpu_seconds_total counter\n"))
        #expect(!text.contains("NaN"))
        let openMetrics = registry.renderString(.openMetrics)
        #expect(openMetrics.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"))
    }
}
