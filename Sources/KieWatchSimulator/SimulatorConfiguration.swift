/// Everything that shapes a simulated Kie.ai: its accounts, its pace, and the faults it injects.
///
/// The defaults are a well-behaved Kie: no faults except the real create rate limit (20 per 10 s
/// per key). Each fault is a rate between 0 and 1, drawn from the seeded generator, so a failing
/// run can be replayed from its seed.
///
/// Which durations `speed` scales: the simulated work and Kie's own delays (generation times,
/// the callback retry delay, late-callback delays, the gap between duplicate callbacks). What a
/// client sees as protocol rules or network behaviour stays in real time: the rate-limit window,
/// maintenance windows, slow answers and the callback timeout.
public struct SimulatorConfiguration: Sendable, Equatable {
    /// `HOST:PORT` the `kiewatch simulate` server binds to. Only the command line reads it; the
    /// simulator itself is a plain `HTTPHandler`.
    public var listen: String = "127.0.0.1:9500"

    /// How much faster than Kie the simulated work runs: generation times and Kie-side delays are
    /// divided by it. `1000` turns a 60 s generation into 60 ms, for tests and benchmarks.
    public var speed: Double = 1

    /// Seed of every random choice (ids, generation times, faults). Same seed and same requests,
    /// same run.
    public var seed: UInt64 = 1

    /// API keys accepted in `Authorization: Bearer`. Empty accepts any non-empty key, which is
    /// what a demo wants; a wrong or missing key answers HTTP 200 with body code 401, as Kie does.
    public var acceptedKeys: [String] = []

    /// The account balance at start. Creates reserve their model's cost and answer 402 when the
    /// balance cannot cover it; a failed task gets its credits back.
    public var initialCredits: Int64 = 100_000

    /// Fraction of tasks that end in `fail` (market `failCode`/`failMsg`; Veo `successFlag` 2 or 3
    /// with `errorCode` 400/422/500/501) instead of `success`.
    public var failureRate: Double = 0

    /// Fraction of tasks with a callBackUrl whose callback is never sent: the "lost webhook" that
    /// the agent's recovery polls exist for.
    public var dropCallbackRate: Double = 0

    /// Fraction of tasks with a callBackUrl whose callback is sent more than once (one or two extra
    /// copies, a few simulated seconds apart): Kie documents that deliveries can repeat.
    public var duplicateCallbackRate: Double = 0

    /// Fraction of tasks whose callback goes out `lateCallbackDelay` after completion instead of
    /// at once; long enough for the agent to call the task stale.
    public var lateCallbackRate: Double = 0

    /// Extra delay of a late callback, drawn uniformly in this range and divided by `speed`.
    public var lateCallbackDelay: ClosedRange<Duration> = .seconds(5 * 60) ... .seconds(20 * 60)

    /// Fraction of tasks with a callBackUrl that complete at once and whose callback is delivered
    /// *before* the create answer is sent, so the callback names a task id the receiver has not
    /// seen yet. The create handler awaits that first delivery attempt before answering.
    public var earlyCallbackRate: Double = 0

    /// Fraction of tasks whose status call, once the task has ended, answers body code `501`
    /// (generation failed) or `408` (no result for over 10 minutes), half each, with `data: null`
    /// instead of the record, as Kie's docs list. The task fails with that code (its callback
    /// says so). Drawn from a generator of its own, so other faults keep their choices.
    public var statusFaultRate: Double = 0

    /// How long after its create a task is unknown to the status calls (`404 Task not found`):
    /// Kie's create and status are not instantly consistent. Divided by `speed`.
    public var statusLag: Duration = .zero

    /// Real-time gap between the server-sent events of a streamed chat answer (not scaled: it is
    /// what a streaming client sees).
    public var streamInterval: Duration = .milliseconds(50)

    /// The create rate limit per API key; `nil` turns it off. Kie's real rule is on by default.
    public var rateLimit: RateLimit? = .kie

    /// Fraction of requests answered with a server error instead of being handled. The mix is
    /// fixed: half are HTTP 200 with body `{"code":500,...}` (Kie's own style), and a sixth each
    /// are real HTTP 500 (Kie envelope), 502 and 503 (HTML pages, as a gateway sends them).
    public var serverErrorRate: Double = 0

    /// Periods during which every request answers body code 455 (maintenance), measured in real
    /// time from the simulator's start.
    public var maintenanceWindows: [MaintenanceWindow] = []

    /// Fraction of requests answered only after `slowAnswerDelay` (a real sleep, not scaled: the
    /// client's timeouts are real).
    public var slowAnswerRate: Double = 0

    /// How long a slow answer waits.
    public var slowAnswerDelay: Duration = .seconds(2)

    /// Fraction of requests whose connection is dropped without an answer
    /// (see `KieSimulator.connectionReset`).
    public var connectionResetRate: Double = 0

    /// How long the receiver has to answer a callback; Kie allows 15 s. Real time, not scaled.
    public var callbackTimeout: Duration = .seconds(15)

    /// Retries after a failed delivery (non-2xx or transport error). Kie stops after 3.
    public var maxCallbackRetries: Int = 3

    /// Wait between delivery attempts, divided by `speed`. Kie does not publish its interval.
    public var callbackRetryDelay: Duration = .seconds(30)

    /// When set, callbacks carry `X-Webhook-Timestamp` (unix seconds) and `X-Webhook-Signature`
    /// = base64(HMAC-SHA256(key, taskId + "." + timestamp)), Kie's opt-in signing.
    public var webhookHMACKey: String? = nil

    /// Fraction of tasks reported with the older or alternative spellings that Kie still sends:
    /// market callbacks with `consumeCredits`/`remainedCredits` instead of `creditsConsumed`, Veo
    /// record-info with `"YYYY-MM-DD HH:mm:ss"` (UTC) times and `resultUrls` as a JSON-encoded
    /// string. Not a fault: a client must accept both forms.
    public var legacyPayloadRate: Double = 0.25

    /// Callback attempts kept for `KieSimulator.deliveries()`; the oldest are forgotten past it,
    /// so a long benchmark run does not keep every body in memory. Counters are not affected.
    public var maxRecordedDeliveries: Int = 100_000

    /// Base of the result and upload URLs the simulator hands out (`.invalid`: nothing is served there).
    public var mediaBaseURL: String = "https://tempfile.kie-simulator.invalid"

    public init() {}

    /// A limit of `requests` creates per sliding `window`, counted per API key.
    public struct RateLimit: Sendable, Equatable {
        public var requests: Int
        public var window: Duration

        public init(requests: Int, window: Duration) {
            self.requests = requests
            self.window = window
        }

        /// Kie's documented rule: at most 20 new generation requests per 10 s.
        public static let kie = RateLimit(requests: 20, window: .seconds(10))
    }

    /// A maintenance period: `duration` long, starting `start` after the simulator started.
    public struct MaintenanceWindow: Sendable, Equatable {
        public var start: Duration
        public var duration: Duration

        public init(start: Duration, duration: Duration) {
            self.start = start
            self.duration = duration
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
