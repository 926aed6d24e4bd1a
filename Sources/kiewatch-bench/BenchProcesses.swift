import Foundation
import KieWatchCore
import KieWatchHTTP
import Synchronization

/// A `kiewatch` subprocess (agent or simulator) for the benchmarks: the real binary, measured
/// from outside, so its memory and latency include nothing of the load generator.
final class KiewatchProcess {
    let process = Process()
    let port: Int
    let directory: String
    private let log: FileHandle

    /// The `kiewatch` executable next to this benchmark's (both come from one `swift build`).
    static var executable: String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("kiewatch").path
    }

    /// `launcher`, when given, is a command line that ends by exec'ing its last argument
    /// (this binary) with `arguments`, so the process measured is still the agent.
    init(_ arguments: [String], port: Int, directory: String, environment: [String: String] = [:], logName: String,
         launcher: [String] = []) throws {
        self.port = port
        self.directory = directory
        let logPath = directory + "/" + logName
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw BenchError("cannot create \(logPath)")
        }
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + [Self.executable] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardError = log
        process.standardOutput = log
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw BenchError("\(Self.executable) not found: build it first (swift build -c release)")
        }
        try process.run()
    }

    /// Waits until `path` answers 200 on the process's port.
    func waitUntilReady(path: String, client: HTTPClient) async throws {
        for _ in 0..<200 {
            if let r = try? await client.send(try HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(1)),
                r.status == 200 || r.status == 404
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("kiewatch \(process.arguments?.first ?? "") did not come up on port \(port)")
    }

    /// Whether the process runs without `libswiftCore.so` mapped (built with `--static-swift-stdlib`).
    var linksSwiftRuntimeStatically: Bool {
        guard let maps = procFile("maps") else { return false }
        return !maps.contains("libswiftCore.so")
    }

    /// Resident, peak resident, and the anonymous (heap, stacks) and file-backed (code and
    /// data of the binary and its libraries) parts of resident memory, in bytes, from
    /// /proc/PID/status.
    func memory() -> ResidentMemory {
        guard let text = procFile("status") else { return ResidentMemory(rss: 0, peak: 0, anonymous: 0, file: 0) }
        func field(_ name: String) -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(name) {
                let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
                return digits * 1024
            }
            return 0
        }
        return ResidentMemory(rss: field("VmRSS:"), peak: field("VmHWM:"), anonymous: field("RssAnon:"), file: field("RssFile:"))
    }

    /// The whole of /proc/PID/NAME. (`String(contentsOfFile:)` stops after the first 4 KiB of a
    /// proc file, whose size reads as 0.)
    private func procFile(_ name: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(process.processIdentifier)/\(name)") else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A free loopback port (bound and released; the benchmark starts its servers right after).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchError("bind: \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A fresh directory under /tmp for one scenario's files.
func benchDirectory(_ name: String) throws -> String {
    let path = NSTemporaryDirectory() + "kiewatch-bench-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Starts a tool found on PATH, its output discarded.
func startTool(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Runs a tool found on PATH to completion, its output discarded; whether it exited 0.
func runTool(_ arguments: [String]) -> Bool {
    guard let process = try? startTool(arguments) else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Percentile of sorted values (nearest rank).
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

struct ResidentMemory {
    let rss: Int
    let peak: Int
    let anonymous: Int
    let file: Int

    /// "25.5 MiB = 26.7 MB (4.1 MiB anonymous, 21.4 MiB file-backed)"
    var described: String {
        String(format: "%@ = %.1f MB (%@ anonymous, %@ file-backed)", mib(rss), Double(rss) / 1e6, mib(anonymous), mib(file))
    }
}

func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

/// A shared counter for load generators' tasks.
final class SharedCounter: Sendable {
    private let value: Atomic<Int>
    init(_ start: Int = 0) { value = Atomic(start) }
    /// Returns the current value and adds one.
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
    var current: Int { value.load(ordering: .relaxed) }
}
