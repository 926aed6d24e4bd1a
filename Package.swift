// swift-tools-version:6.0
import PackageDescription

// kiewatch takes no package dependencies: the toolchain, and system libraries through module maps.
let package = Package(
    name: "kiewatch",
    products: [
        .executable(name: "kiewatch", targets: ["kiewatch"]),
        .executable(name: "kiewatch-bench", targets: ["kiewatch-bench"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // epoll, eventfd and accept4, which the toolchain's Glibc module does not expose (headers only, no C code).
        .systemLibrary(name: "CLinux"),
        // Kie wire types, model catalogue, task lifecycle, durations, config, HMAC: pure, no I/O.
        .target(name: "KieWatchCore"),
        // The one runtime model: services, the group that starts and stops them, blocking work off the pool.
        .target(name: "KieWatchRuntime", dependencies: ["KieWatchCore"]),
        // SQLite connection, statements, migrations, group-commit writer, queries, retention.
        .target(name: "KieWatchStore", dependencies: ["CSQLite", "KieWatchCore", "KieWatchRuntime"]),
        // HTTP/1.1 server on POSIX sockets: parser, limits, connections.
        .target(name: "KieWatchHTTP", dependencies: ["CLinux", "KieWatchCore", "KieWatchRuntime"]),
        // Metric registry and the Prometheus / OpenMetrics encoder.
        .target(name: "KieWatchMetrics"),
        // A faithful fake Kie.ai upstream (tests, demo, benchmarks).
        .target(name: "KieWatchSimulator", dependencies: ["KieWatchCore", "KieWatchHTTP"]),
        // The agent: proxy, webhooks, relay, recovery, console commands (rendered with KieWatchConsole).
        .target(
            name: "KieWatchAgent",
            dependencies: [
                "CLinux", "KieWatchCore", "KieWatchRuntime", "KieWatchStore", "KieWatchHTTP", "KieWatchMetrics",
                "KieWatchConsole",
            ]
        ),
        // Terminal side of the console: line editor, tables, admin-socket client.
        .target(name: "KieWatchConsole", dependencies: ["KieWatchCore"]),
        .executableTarget(
            name: "kiewatch",
            dependencies: [
                "KieWatchCore", "KieWatchRuntime", "KieWatchStore", "KieWatchHTTP", "KieWatchMetrics",
                "KieWatchSimulator", "KieWatchAgent", "KieWatchConsole",
            ]
        ),
        .executableTarget(
            name: "kiewatch-bench",
            dependencies: [
                "CSQLite", "KieWatchCore", "KieWatchStore", "KieWatchHTTP", "KieWatchMetrics",
                "KieWatchSimulator", "KieWatchAgent", "KieWatchConsole",
            ]
        ),
        // Shared test helpers: temporary databases, test clock, loopback utilities, fuzz inputs
        // (seeded by the simulator's generator).
        .target(
            name: "KieWatchTestSupport",
            dependencies: ["KieWatchCore", "KieWatchStore", "KieWatchHTTP", "KieWatchSimulator"],
            path: "Tests/KieWatchTestSupport"
        ),
        .testTarget(name: "KieWatchCoreTests", dependencies: ["KieWatchCore", "KieWatchSimulator", "KieWatchTestSupport"]),
        .testTarget(name: "KieWatchRuntimeTests", dependencies: ["KieWatchRuntime", "KieWatchCore"]),
        .testTarget(
            name: "KieWatchStoreTests",
            dependencies: ["KieWatchStore", "KieWatchCore", "KieWatchTestSupport", "CSQLite"]
        ),
        .testTarget(name: "KieWatchHTTPTests", dependencies: ["KieWatchHTTP", "KieWatchSimulator", "KieWatchTestSupport"]),
        .testTarget(name: "KieWatchMetricsTests", dependencies: ["KieWatchMetrics", "KieWatchTestSupport"]),
        .testTarget(
            name: "KieWatchSimulatorTests",
            dependencies: ["KieWatchSimulator", "KieWatchCore", "KieWatchHTTP", "KieWatchTestSupport"]
        ),
        .testTarget(
            name: "KieWatchAgentTests",
            dependencies: [
                "KieWatchAgent", "KieWatchSimulator", "KieWatchStore", "KieWatchCore", "KieWatchHTTP",
                "KieWatchMetrics", "KieWatchRuntime", "KieWatchTestSupport",
            ]
        ),
        .testTarget(
            name: "KieWatchConsoleTests",
            dependencies: ["KieWatchConsole", "KieWatchAgent", "KieWatchCore", "KieWatchTestSupport"]
        ),
        // Runs the built `kiewatch` binary and external tools (promtool, prometheus).
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["KieWatchCore", "KieWatchHTTP", "KieWatchSimulator", "KieWatchTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
