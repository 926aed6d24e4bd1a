extension MetricRegistry {
    /// Registers the standard `process_*` families, with the names and HELP texts every
    /// Prometheus client library uses, read from /proc at each scrape.
    ///
    /// Each family reads only its own source at scrape time; the start time never changes,
    /// so it is read once here.
    public func registerProcessMetrics() {
        let startTime = ProcessMetrics.current().startTimeSeconds ?? .nan
        counterFunction("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                        unit: "seconds") { ProcessMetrics(parts: .stat).cpuSeconds ?? .nan }
        gaugeFunction("process_open_fds", help: "Number of open file descriptors.") {
            ProcessMetrics(parts: .fileDescriptors).openFileDescriptors ?? .nan
        }
        gaugeFunction("process_max_fds", help: "Maximum number of open file descriptors.") {
            ProcessMetrics(parts: .limits).maxFileDescriptors ?? .nan
        }
        gaugeFunction("process_virtual_memory_bytes", help: "Virtual memory size in bytes.", unit: "bytes") {
            ProcessMetrics(parts: .stat).virtualMemoryBytes ?? .nan
        }
        gaugeFunction("process_virtual_memory_max_bytes",
                      help: "Maximum amount of virtual memory available in bytes.", unit: "bytes") {
            ProcessMetrics(parts: .limits).virtualMemoryMaxBytes ?? .nan
        }
        gaugeFunction("process_resident_memory_bytes", help: "Resident memory size in bytes.", unit: "bytes") {
            ProcessMetrics(parts: .stat).residentMemoryBytes ?? .nan
        }
        gaugeFunction("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                      unit: "seconds") { startTime }
    }
}
