#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` figures of the Prometheus client libraries, read from /proc.
///
/// Dashboards and alerts written for any Prometheus client use these exact names and HELP
/// texts, so kiewatch exposes the same ones. Every field is nil where the system does not
/// provide it (a non-Linux build, a restricted /proc); the registry then exposes `NaN`
/// rather than a made-up 0, so the family stays present and the missing figure is visible.
public struct ProcessMetrics: Sendable, Equatable {
    /// User plus system CPU time, seconds.
    public var cpuSeconds: Double?
    public var residentMemoryBytes: Double?
    public var virtualMemoryBytes: Double?
    public var openFileDescriptors: Double?
    /// The soft `RLIMIT_NOFILE`.
    public var maxFileDescriptors: Double?
    /// The soft `RLIMIT_AS`; `RLIM_INFINITY` reads as 2^64 - 1, as the Go client reports it.
    public var virtualMemoryMaxBytes: Double?
    /// Seconds since the Unix epoch.
    public var startTimeSeconds: Double?

    /// Reads all the current figures of this process (a few syscalls).
    public static func current() -> ProcessMetrics {
        var metrics = ProcessMetrics(parts: [.stat, .fileDescriptors, .limits])
        #if os(Linux)
        if let stat = readStat(), let bootTime = bootTime() {
            metrics.startTimeSeconds = bootTime + stat.startTicks / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        #endif
        return metrics
    }

    /// Which sources to read; a scrape reads each only for the families that need it.
    struct Parts: OptionSet {
        let rawValue: Int
        /// /proc/self/stat: CPU time, virtual and resident memory.
        static let stat = Parts(rawValue: 1)
        /// /proc/self/fd.
        static let fileDescriptors = Parts(rawValue: 2)
        /// getrlimit: the descriptor and address-space limits.
        static let limits = Parts(rawValue: 4)
    }

    init() {}

    /// Reads the given sources; the start time (which needs /proc/stat) is left out.
    init(parts: Parts) {
        #if os(Linux)
        if parts.contains(.stat), let stat = Self.readStat() {
            cpuSeconds = (stat.userTicks + stat.systemTicks) / Double(sysconf(Int32(_SC_CLK_TCK)))
            virtualMemoryBytes = stat.virtualBytes
            residentMemoryBytes = stat.residentPages * Double(sysconf(Int32(_SC_PAGESIZE)))
        }
        if parts.contains(.fileDescriptors) { openFileDescriptors = Self.countOpenFileDescriptors() }
        if parts.contains(.limits) {
            maxFileDescriptors = Self.softLimit(RLIMIT_NOFILE)
            virtualMemoryMaxBytes = Self.softLimit(RLIMIT_AS)
        }
        #endif
    }

    #if os(Linux)
    private struct Stat {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double
    }

    /// Fields of /proc/self/stat (see proc(5)). The command name, field 2, is in
    /// parentheses and may itself hold spaces or parentheses, so parsing starts after the
    /// last `)`; the next field there is field 3.
    private static func readStat() -> Stat? {
        guard let text = readFile("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? {
            let index = number - 3
            return index < fields.count ? Double(fields[index]) : nil
        }
        guard let user = field(14), let system = field(15), let start = field(22),
              let virtual = field(23), let resident = field(24) else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual,
                    residentPages: resident)
    }

    /// The `btime` line of /proc/stat: boot time, seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let text = readFile("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingASCII(" "))
        }
        return nil
    }

    /// Entries of /proc/self/fd, not counting the descriptor used to list them.
    private static func countOpenFileDescriptors() -> Double? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        let ownDescriptor = dirfd(directory)
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let descriptor = Int32(name), descriptor != ownDescriptor else { continue }
            count += 1
        }
        return Double(count)
    }

    private static func softLimit(_ resource: __rlimit_resource) -> Double? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0 else { return nil }
        return Double(limit.rlim_cur)
    }

    /// Reads a whole /proc file; their reported size is 0, so read until end of file.
    private static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
    #endif
}
