import KieWatchCore

// The rows kiewatch stores, as plain Sendable values. `id` is nil until the row is inserted.
// Times are `EpochMillis`; durations carry their unit in the name.

/// One API call that went through the proxy (or the agent's own status poll / credit check).
package struct APICallRecord: Sendable, Equatable {
    package var id: Int64?
    package var ts: EpochMillis
    package var endpoint: KieEndpoint
    package var model: String?
    package var taskID: String?
    package var method: String
    /// Request path with query string. The store redacts secret-looking query values before
    /// writing (see `URLRedaction`), whatever the caller passes.
    package var path: String
    package var httpStatus: Int
    /// Kie's body `code`, when the answer had one.
    package var bodyCode: Int?
    package var latencyMicros: Int64
    package var requestBytes: Int64
    package var responseBytes: Int64
    package var outcome: CallOutcome
    /// Redacted when stored, as every error text (see `RecordSQL`).
    package var error: String?

    package init(
        id: Int64? = nil, ts: EpochMillis, endpoint: KieEndpoint, model: String? = nil, taskID: String? = nil,
        method: String, path: String, httpStatus: Int, bodyCode: Int? = nil, latencyMicros: Int64,
        requestBytes: Int64 = 0, responseBytes: Int64 = 0, outcome: CallOutcome, error: String? = nil
    ) {
        self.id = id
        self.ts = ts
        self.endpoint = endpoint
        self.model = model
        self.taskID = taskID
        self.method = method
        self.path = path
        self.httpStatus = httpStatus
        self.bodyCode = bodyCode
        self.latencyMicros = latencyMicros
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.outcome = outcome
        self.error = error
    }

    /// The `code` label of `kiewatch_api_requests_total` and of the call rollup.
    package var codeLabel: String {
        CallOutcome.codeLabel(outcome: outcome, httpStatus: httpStatus, bodyCode: bodyCode)
    }
}

/// How a webhook delivery authenticated.
package enum WebhookAuth: String, Sendable, CaseIterable {
    case ok
    case missing
    case badSecret = "bad_secret"
    case badSignature = "bad_signature"
    case staleTimestamp = "stale_timestamp"
    /// No callback secret is configured, so nothing was checked.
    case notConfigured = "not_configured"
}

/// What kiewatch did with a webhook delivery (`result` label of `kiewatch_webhooks_received_total`).
package enum WebhookResult: String, Sendable, CaseIterable {
    case accepted, duplicate, unauthorized, malformed
    case unknownTask = "unknown_task"
    /// Arrived after kiewatch had already learned the outcome by polling (a late callback).
    case late
    /// Authenticated, on a route the agent issued, but not readable as the family's callback
    /// (a shape or spelling the table does not know): stored as received and relayed to the
    /// app unchanged, which would have got it without the agent.
    case unparsed
}

/// One webhook delivery from Kie, with its body as received (secrets scrubbed).
package struct WebhookRecord: Sendable, Equatable {
    package var id: Int64?
    package var ts: EpochMillis
    package var family: TaskFamily
    package var taskID: String?
    package var model: String?
    package var state: TaskState?
    package var auth: WebhookAuth
    package var result: WebhookResult
    /// Received time minus Kie's reported completion time.
    package var delayMillis: Int64?
    package var body: [UInt8]
    /// `X-Webhook-Timestamp` and `X-Webhook-Signature` as received (not secrets).
    package var signatureTimestamp: String?
    package var signature: String?

    package init(
        id: Int64? = nil, ts: EpochMillis, family: TaskFamily, taskID: String? = nil, model: String? = nil,
        state: TaskState? = nil, auth: WebhookAuth, result: WebhookResult, delayMillis: Int64? = nil,
        body: [UInt8], signatureTimestamp: String? = nil, signature: String? = nil
    ) {
        self.id = id
        self.ts = ts
        self.family = family
        self.taskID = taskID
        self.model = model
        self.state = state
        self.auth = auth
        self.result = result
        self.delayMillis = delayMillis
        self.body = body
        self.signatureTimestamp = signatureTimestamp
        self.signature = signature
    }
}

/// How kiewatch learned a task's terminal state.
package enum ResultSource: String, Sendable, CaseIterable {
    case callback, poll, proxy, recovery
}

/// One generation task's lifecycle; the primary key is the id the agent tracks it by: Kie's
/// task id, or for a request that reuses its parent's id (Veo 4K) `<parent>#4k<index>`
/// (`TaskFamily.trackedTaskID`).
package struct TaskRecord: Sendable, Equatable {
    package var taskID: String
    package var family: TaskFamily
    package var model: String
    package var state: TaskState
    package var createdAt: EpochMillis
    package var updatedAt: EpochMillis
    /// Terminal time as reported by Kie.
    package var completedAt: EpochMillis?
    /// When kiewatch learned the terminal state.
    package var finishedAt: EpochMillis?
    /// The app's own callback URL. The only column allowed to hold a secret: the relay needs it.
    package var callbackURL: String?
    package var expectsCallback: Bool
    /// After this time without a callback the task is stale and gets polled.
    package var deadlineAt: EpochMillis?
    package var lastCallbackAt: EpochMillis?
    package var callbacksReceived: Int
    package var recoveredAt: EpochMillis?
    package var recoveryAttempts: Int
    package var nextPollAt: EpochMillis?
    package var resultSource: ResultSource?
    package var failCode: String?
    package var failMessage: String?
    /// Credits Kie reported for the task. `WriteContext.save` stores a value outside
    /// `TaskReport.plausibleCreditsConsumed` (NaN, an infinity, a negative) as NULL.
    package var creditsConsumed: Double?
    /// The callback never came and a recovery poll found the task terminal.
    package var missed: Bool
    /// When recovery stopped polling this task (its give-up limit passed); it stays stale.
    package var recoveryGaveUpAt: EpochMillis?
    /// The callbacks received so far other than final ones: progress kinds of a family that
    /// sends several (Suno's `text`, `first`), each relayed once, and `unparsed` for each one
    /// relayed unread. `callbacksReceived` counts the final ones.
    package var callbackKinds: [String]

    package init(
        taskID: String, family: TaskFamily, model: String, state: TaskState = .created,
        createdAt: EpochMillis, updatedAt: EpochMillis? = nil, completedAt: EpochMillis? = nil,
        finishedAt: EpochMillis? = nil, callbackURL: String? = nil, expectsCallback: Bool = false,
        deadlineAt: EpochMillis? = nil, lastCallbackAt: EpochMillis? = nil, callbacksReceived: Int = 0,
        recoveredAt: EpochMillis? = nil, recoveryAttempts: Int = 0, nextPollAt: EpochMillis? = nil,
        resultSource: ResultSource? = nil, failCode: String? = nil, failMessage: String? = nil,
        creditsConsumed: Double? = nil, missed: Bool = false, recoveryGaveUpAt: EpochMillis? = nil,
        callbackKinds: [String] = []
    ) {
        self.callbackKinds = callbackKinds
        self.taskID = taskID
        self.family = family
        self.model = model
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.completedAt = completedAt
        self.finishedAt = finishedAt
        self.callbackURL = callbackURL
        self.expectsCallback = expectsCallback
        self.deadlineAt = deadlineAt
        self.lastCallbackAt = lastCallbackAt
        self.callbacksReceived = callbacksReceived
        self.recoveredAt = recoveredAt
        self.recoveryAttempts = recoveryAttempts
        self.nextPollAt = nextPollAt
        self.resultSource = resultSource
        self.failCode = failCode
        self.failMessage = failMessage
        self.creditsConsumed = creditsConsumed
        self.missed = missed
        self.recoveryGaveUpAt = recoveryGaveUpAt
    }
}

/// Where the callbacks of one create go: the token in the callback URL the agent gave Kie
/// (`/webhooks/<kie|veo>/<token>`), committed before the create reaches Kie.
package struct CallbackRoute: Sendable, Equatable {
    /// Random and unguessable (128 bits), URL-safe.
    package var token: String
    package var family: TaskFamily
    package var model: String
    /// The app's own callback URL with its secret: where the callbacks are relayed.
    package var callbackURL: String
    package var createdAt: EpochMillis
    /// Kie's task id, once the create answer (or a callback that came first) named it.
    package var taskID: String?

    package init(
        token: String, family: TaskFamily, model: String, callbackURL: String, createdAt: EpochMillis,
        taskID: String? = nil
    ) {
        self.token = token
        self.family = family
        self.model = model
        self.callbackURL = callbackURL
        self.createdAt = createdAt
        self.taskID = taskID
    }
}

/// Outcome of one recovery poll (`result` label of `kiewatch_recovery_polls_total`).
package enum RecoveryResult: String, Sendable, CaseIterable {
    case recovered
    case stillRunning = "still_running"
    case notFound = "not_found"
    case error
}

/// One recovery poll of a stale task.
package struct RecoveryRecord: Sendable, Equatable {
    package var id: Int64?
    package var ts: EpochMillis
    package var taskID: String
    package var model: String?
    package var result: RecoveryResult
    package var detail: String?

    package init(id: Int64? = nil, ts: EpochMillis, taskID: String, model: String? = nil,
                 result: RecoveryResult, detail: String? = nil) {
        self.id = id
        self.ts = ts
        self.taskID = taskID
        self.model = model
        self.result = result
        self.detail = detail
    }
}

/// Delivery state of a relay to the app.
package enum RelayState: String, Sendable, CaseIterable {
    case pending, delivered
    case gaveUp = "gave_up"
}

/// A callback to relay to the app's own URL, durable until delivered or given up.
package struct RelayOutboxItem: Sendable, Equatable {
    package var id: Int64?
    package var taskID: String
    /// The app's URL with the app's secret: needed to deliver.
    package var url: String
    package var body: [UInt8]
    /// Extra request headers, one `Name: value` per line.
    package var headers: String
    /// A callback kiewatch built from a recovery poll (sent with `X-KieWatch-Recovered: true`).
    package var synthesized: Bool
    /// Queued by the console's `replay` (sent with `X-KieWatch-Replayed: true`).
    package var replayed: Bool
    package var createdAt: EpochMillis
    package var nextAttemptAt: EpochMillis
    /// Every attempt ever made.
    package var attempts: Int
    package var state: RelayState
    package var lastStatus: Int?
    package var lastError: String?
    package var deliveredAt: EpochMillis?
    /// When the give-up window started: `createdAt`, moved to the time of a `relay retry`
    /// and forward by the length of each pause. Not written by `WriteContext.updateRelay`
    /// (a resume may move it while a delivery is under way).
    package var windowStartAt: EpochMillis
    /// Attempts since the window started: the step of the backoff schedule.
    package var windowAttempts: Int
    /// When the relay stopped trying (state `gave_up`).
    package var gaveUpAt: EpochMillis?

    package init(
        id: Int64? = nil, taskID: String, url: String, body: [UInt8], headers: String = "",
        synthesized: Bool = false, replayed: Bool = false, createdAt: EpochMillis, nextAttemptAt: EpochMillis? = nil,
        attempts: Int = 0, state: RelayState = .pending, lastStatus: Int? = nil, lastError: String? = nil,
        deliveredAt: EpochMillis? = nil, windowStartAt: EpochMillis? = nil, windowAttempts: Int? = nil,
        gaveUpAt: EpochMillis? = nil
    ) {
        self.id = id
        self.taskID = taskID
        self.url = url
        self.body = body
        self.headers = headers
        self.synthesized = synthesized
        self.replayed = replayed
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt ?? createdAt
        self.attempts = attempts
        self.state = state
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.windowStartAt = windowStartAt ?? createdAt
        self.windowAttempts = windowAttempts ?? attempts
        self.gaveUpAt = gaveUpAt ?? (state == .gaveUp ? nextAttemptAt ?? createdAt : nil)
    }
}

/// One HTTP attempt at delivering an outbox item.
/// What one relay attempt came to (`result` label of `kiewatch_relay_attempts_total`).
package enum RelayAttemptResult: String, Sendable, CaseIterable {
    case delivered, failed
    /// The attempt after which the relay stopped trying.
    case gaveUp = "gave_up"
}

package struct RelayAttemptRecord: Sendable, Equatable {
    package var id: Int64?
    package var outboxID: Int64
    package var ts: EpochMillis
    package var httpStatus: Int?
    package var error: String?
    package var durationMicros: Int64

    package init(id: Int64? = nil, outboxID: Int64, ts: EpochMillis, httpStatus: Int? = nil,
                 error: String? = nil, durationMicros: Int64) {
        self.id = id
        self.outboxID = outboxID
        self.ts = ts
        self.httpStatus = httpStatus
        self.error = error
        self.durationMicros = durationMicros
    }
}
