import KieWatchCore
import KieWatchMetrics
import KieWatchStore

/// Every metric of the README's "Metrics", registered once; the data plane keeps the families and bumps
/// series handles (lock-free) as events happen. Names and labels are a contract: dashboards
/// and alert rules depend on them.
public final class AgentMetrics: Sendable {
    public let registry: MetricRegistry
    /// One limiter for every `model` label, so the same 64 models show up in every family.
    public let models: LabelValueLimiter

    public let apiRequests: CounterFamily
    public let tasksCreated: CounterFamily
    public let tasksFinished: CounterFamily
    public let webhooksReceived: CounterFamily
    public let webhooksMissed: CounterFamily
    public let recoveryPolls: CounterFamily
    public let relayAttempts: CounterFamily
    public let creditsConsumed: CounterFamily
    public let storeErrors: CounterFamily

    public let apiRequestDuration: HistogramFamily
    public let taskDuration: HistogramFamily
    public let webhookDelay: HistogramFamily
    public let relayDuration: HistogramFamily

    public let tasksInflight: GaugeFamily
    public let tasksStale: GaugeFamily
    public let relayQueueDepth: GaugeFamily
    public let relayOldestPending: GaugeFamily
    public let relayPaused: GaugeFamily
    public let relayCircuitOpen: GaugeFamily
    /// Bounds the `destination` label of `kiewatch_relay_circuit_open` as `models` bounds `model`.
    public let destinations: LabelValueLimiter
    public let creditsRemaining: GaugeFamily
    public let createRateLimitUtilization: GaugeFamily
    public let lastWebhookReceived: GaugeFamily
    public let storeBytes: GaugeFamily
    public let buildInfo: GaugeFamily

    public init(registry: MetricRegistry = MetricRegistry(), modelLabelCap: Int = 64) {
        self.registry = registry
        // `unknown` (calls that name no model: credit checks, uploads) is not a model id and must
        // not take one of the cap's slots.
        let models = LabelValueLimiter(limit: modelLabelCap, reserved: [Self.modelLabel(nil)])
        self.models = models
        let m = ["model": models]
        let destinations = LabelValueLimiter(limit: modelLabelCap)
        self.destinations = destinations

        apiRequests = registry.counter(
            "kiewatch_api_requests_total",
            help: "Kie API calls through the agent (and its own polls), by endpoint, model and body code (or HTTP status, error, timeout).",
            labelNames: ["endpoint", "model", "code"], limiters: m)
        tasksCreated = registry.counter(
            "kiewatch_tasks_created_total", help: "Generation tasks created through the agent.",
            labelNames: ["model"], limiters: m)
        tasksFinished = registry.counter(
            "kiewatch_tasks_finished_total", help: "Tasks that reached a terminal state (success or fail).",
            labelNames: ["model", "state"], limiters: m)
        webhooksReceived = registry.counter(
            "kiewatch_webhooks_received_total",
            help: "Callback deliveries from Kie, by result (accepted, duplicate, unauthorized, malformed, unknown_task).",
            labelNames: ["model", "result"], limiters: m)
        webhooksMissed = registry.counter(
            "kiewatch_webhooks_missed_total",
            help: "Tasks found terminal by a recovery poll whose callback never arrived.",
            labelNames: ["model"], limiters: m)
        recoveryPolls = registry.counter(
            "kiewatch_recovery_polls_total",
            help: "Status polls for stale tasks, by result (recovered, still_running, not_found, error).",
            labelNames: ["model", "result"], limiters: m)
        relayAttempts = registry.counter(
            "kiewatch_relay_attempts_total", help: "Deliveries of callbacks to the app, by result (delivered, failed, gave_up).",
            labelNames: ["result"])
        creditsConsumed = registry.counter(
            "kiewatch_credits_consumed_total", help: "Kie credits consumed, as reported by callbacks and status answers.",
            labelNames: ["model"], limiters: m)
        storeErrors = registry.counter(
            "kiewatch_store_errors_total", help: "Failed store commits (disk full, I/O error); rows of a failed batch are reported to their producers.")

        apiRequestDuration = registry.histogram(
            "kiewatch_api_request_duration_seconds", help: "Latency of Kie API calls seen by the agent.",
            labelNames: ["endpoint", "model"], buckets: .apiLatency, unit: "seconds", limiters: m)
        taskDuration = registry.histogram(
            "kiewatch_task_duration_seconds", help: "Task duration from create to terminal state.",
            labelNames: ["model"], buckets: .longDurations, unit: "seconds", limiters: m)
        webhookDelay = registry.histogram(
            "kiewatch_webhook_delay_seconds", help: "Delay from a task's terminal state at Kie to its callback reaching the agent.",
            labelNames: ["model"], buckets: .longDurations, unit: "seconds", limiters: m)
        relayDuration = registry.histogram(
            "kiewatch_relay_duration_seconds", help: "Duration of one delivery attempt of a callback to the app.",
            buckets: .apiLatency, unit: "seconds")

        tasksInflight = registry.gauge(
            "kiewatch_tasks_inflight", help: "Tasks created and not yet terminal.", labelNames: ["model"], limiters: m)
        tasksStale = registry.gauge(
            "kiewatch_tasks_stale", help: "Non-terminal tasks past their model's deadline.", labelNames: ["model"], limiters: m)
        relayQueueDepth = registry.gauge("kiewatch_relay_queue_depth", help: "Callbacks waiting in the relay outbox.")
        relayOldestPending = registry.gauge(
            "kiewatch_relay_oldest_pending_seconds", help: "Age of the oldest pending relay (0 when none).", unit: "seconds")
        relayPaused = registry.gauge(
            "kiewatch_relay_paused", help: "1 while deliveries to the app are paused (relay pause), else 0.")
        relayCircuitOpen = registry.gauge(
            "kiewatch_relay_circuit_open",
            help: "1 while a relay destination's circuit is open (one probe at a time tries it), 0 once it closes.",
            labelNames: ["destination"], limiters: ["destination": destinations])
        creditsRemaining = registry.gauge("kiewatch_credits_remaining", help: "Kie credits left on the account (last known).")
        createRateLimitUtilization = registry.gauge(
            "kiewatch_create_rate_limit_utilization", help: "Creates in the last 10 s divided by Kie's limit of 20.")
        lastWebhookReceived = registry.gauge(
            "kiewatch_last_webhook_received_timestamp_seconds", help: "Unix time of the last accepted callback.",
            unit: "seconds")
        storeBytes = registry.gauge("kiewatch_store_bytes", help: "Size of the SQLite database and its WAL.", unit: "bytes")
        buildInfo = registry.gauge("kiewatch_build_info", help: "Always 1; the version label says which build runs.", labelNames: ["version"])
        buildInfo.labels(KieWatchVersion.current).set(1)
        registry.registerProcessMetrics()
    }

    /// The `model` label for a possibly unknown model.
    public static func modelLabel(_ model: String?) -> String { model ?? "unknown" }

    /// Counts one recorded API call and its latency.
    func observe(_ call: APICallRecord) {
        let model = Self.modelLabel(call.model)
        apiRequests.labels(call.endpoint.rawValue, model, call.codeLabel).increment()
        apiRequestDuration.labels(call.endpoint.rawValue, model).observe(Double(call.latencyMicros) / 1e6)
    }
}
