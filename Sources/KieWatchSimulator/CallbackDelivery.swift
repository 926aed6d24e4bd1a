import KieWatchCore
import KieWatchHTTP

/// One callback POST attempt, as recorded for tests and the end-to-end scenario.
public struct CallbackDelivery: Sendable, Equatable {
    /// The simulator's key for the task (`SimulatedTask.id`: a Veo 4K job's is `<parent>#4k...`).
    public var taskId: String
    public var url: String
    /// 1 for the first attempt, up to `1 + maxCallbackRetries`.
    public var attempt: Int
    /// 0 for the original callback, 1 or 2 for duplicate copies.
    public var copy: Int
    /// Which of the task's callbacks this is (Suno's `text`, `first`, `complete`, `error`); nil
    /// for a family that sends one.
    public var kind: String? = nil
    public var result: CallbackResult
    /// When the attempt was sent (simulator clock).
    public var time: EpochMillis
    public var body: [UInt8]
    public var headers: HTTPHeaders

    /// The body parsed, for assertions.
    public var json: JSONValue? { try? JSONValue.parse(body) }
}
