import CSQLite
import Dispatch
import KieWatchCore
import KieWatchStore
import Synchronization

/// 2026-01-01T00:00:00Z, the TestClock's start; minute-aligned.
let t0: EpochMillis = 1_767_225_600_000

func call(
    ts: EpochMillis = t0, endpoint: KieEndpoint = .createTask, model: String? = "kling-2.6/text-to-video",
    taskID: String? = nil, path: String = "/api/v1/jobs/createTask", httpStatus: Int = 200, bodyCode: Int? = 200,
    latencyMicros: Int64 = 1_000, requestBytes: Int64 = 0, outcome: CallOutcome = .ok
) -> APICallRecord {
    APICallRecord(
        ts: ts, endpoint: endpoint, model: model, taskID: taskID, method: "POST", path: path,
        httpStatus: httpStatus, bodyCode: bodyCode, latencyMicros: latencyMicros, requestBytes: requestBytes,
        responseBytes: 64, outcome: outcome)
}

func task(_ id: String, model: String = "veo3", state: TaskState = .created, createdAt: EpochMillis = t0,
          deadlineAt: EpochMillis? = nil) -> TaskRecord {
    TaskRecord(taskID: id, family: .veo, model: model, state: state, createdAt: createdAt,
               callbackURL: "https://app.example/cb?secret=app-secret", expectsCallback: true,
               deadlineAt: deadlineAt)
}

/// Opens a writer on a fresh path with a test clock.
func openWriter(_ path: String) throws -> StoreWriter {
    var configuration = StoreConfiguration()
    configuration.clock = TestClock(t0)
    return try StoreWriter(path: path, configuration: configuration)
}

/// Runs SQL on a raw connection, bypassing kiewatch (to forge files the store must refuse).
func rawExecute(_ path: String, _ sql: String) throws {
    var handle: OpaquePointer?
    guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else {
        throw StoreError(kind: .sqlite, message: "raw open failed")
    }
    defer { sqlite3_close(handle) }
    try check(sqlite3_exec(handle, sql, nil, nil, nil), connection: handle, sql: sql)
}

/// Waits (politely) until a condition about the writer holds; for ordering, never for timing.
func waitUntil(_ condition: () -> Bool) async throws {
    while !condition() { try await Task.sleep(nanoseconds: 1_000_000) }
}

/// A lock-protected value that escaping `@Sendable` closures can share in tests.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
}

/// Holds the writer thread inside a closure until released, so that everything submitted
/// meanwhile lands in the same next batch.
func holdWriter(_ writer: StoreWriter) async throws -> (Task<Void, any Error>, DispatchSemaphore) {
    let started = Locked(false)
    let release = DispatchSemaphore(value: 0)
    let holder = Task {
        try await writer.write { _ in
            started.update { $0 = true }
            release.wait()
        }
    }
    try await waitUntil { started.value }
    return (holder, release)
}
