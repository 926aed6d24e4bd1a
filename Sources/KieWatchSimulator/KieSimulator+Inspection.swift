import KieWatchCore
import KieWatchHTTP

/// Read-only inspection over HTTP, for tests and the demo that run `kiewatch simulate` as a
/// separate process and need to compare what the agent recorded with what Kie did.
///
/// - `GET /_simulator/stats`: `SimulatorStats` as JSON (snake_case keys, models sorted).
/// - `GET /_simulator/tasks`: every task of every family in creation order with its fate
///   (outcome, dropped or duplicated callback) and every recorded callback attempt (its kind,
///   for Suno's several). A Veo 4K job is listed under its key `<parent>#4k<index>`, with the
///   parent's id as `kie_task_id`.
///
/// Inspection sits outside the fake Kie: it draws no request faults, is not counted in
/// `requests`, needs no API key, and moves no task, so looking does not change a seeded run.
/// Nothing it returns carries a secret: callback URLs (which hold the agent's callback secret)
/// and request bodies are left out.
extension KieSimulator {
    /// Paths under this prefix are inspection requests, never Kie endpoints.
    public static let inspectionPathPrefix = "/_simulator/"

    func inspect(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET" else {
            return .kieError(code: 405, msg: "inspection endpoints are read-only: use GET", status: 405)
        }
        switch request.path {
        case "/_simulator/stats": return .json(snapshot().json)
        case "/_simulator/tasks": return .json(tasksJSON())
        default: return .kieError(code: 404, msg: "unknown inspection path (try /_simulator/stats or /_simulator/tasks)", status: 404)
        }
    }

    /// `{"now": ms, "deliveries_complete": bool, "tasks": [...]}`; a task's `state` is the one its
    /// timeline prescribes now (what a status call would answer), computed without moving it.
    /// `deliveries_complete` is false once the oldest attempts were forgotten
    /// (`maxRecordedDeliveries`).
    func tasksJSON() -> JSONValue {
        let now = clock.now()
        let (tasks, deliveries, sent) = state.withLock { state in
            (Array(state.tasks.values), state.deliveries, state.stats.callbacksSent)
        }
        var attempts: [String: [JSONValue]] = [:]
        for delivery in deliveries {
            attempts[delivery.taskId, default: []].append(delivery.inspectionJSON)
        }
        let ordered = tasks.sorted { ($0.createTime, $0.id) < ($1.createTime, $1.id) }
        return [
            "now": .int(now),
            "deliveries_complete": .bool(deliveries.count == sent),
            "tasks": .array(ordered.map { $0.inspectionJSON(at: now, deliveries: attempts[$0.id] ?? []) }),
        ]
    }
}

extension SimulatorStats {
    /// Every counter under its snake_case name; `tasks_created` per model and
    /// `tasks_created_by_family` per family, with sorted keys.
    public var json: JSONValue {
        func sorted(_ counts: [String: Int]) -> JSONValue {
            .object(counts.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.int(Int64($0.value))) })
        }
        func n(_ value: Int) -> JSONValue { .int(Int64(value)) }
        return [
            "requests": n(requests),
            "tasks_created": sorted(tasksCreated),
            "tasks_created_by_family": sorted(tasksCreatedByFamily),
            "tasks_created_total": n(tasksCreatedTotal),
            "tasks_succeeded": n(tasksSucceeded),
            "tasks_failed": n(tasksFailed),
            "callbacks_sent": n(callbacksSent),
            "callbacks_delivered": n(callbacksDelivered),
            "callbacks_dropped": n(callbacksDropped),
            "callbacks_duplicated": n(callbacksDuplicated),
            "callbacks_late": n(callbacksLate),
            "callbacks_early": n(callbacksEarly),
            "callback_retries": n(callbackRetries),
            "callbacks_failed_delivery": n(callbacksFailedDelivery),
            "rate_limited": n(rateLimited),
            "server_errors": n(serverErrors),
            "maintenance_answers": n(maintenanceAnswers),
            "slow_answers": n(slowAnswers),
            "connection_resets": n(connectionResets),
            "unauthorized": n(unauthorized),
            "validation_errors": n(validationErrors),
            "insufficient_credits": n(insufficientCredits),
            "not_found": n(notFound),
            "status_lag_answers": n(statusLagAnswers),
            "status_faults": n(statusFaults),
            "processing_answers": n(processingAnswers),
            "chat_answers": n(chatAnswers),
            "credits_remaining": .int(creditsRemaining),
            "credits_consumed": .int(creditsConsumed),
        ]
    }
}

extension SimulatedTask {
    func inspectionJSON(at now: EpochMillis, deliveries: [JSONValue]) -> JSONValue {
        let callback: String =
            if callBackUrl == nil { "none" } else if plan.dropCallback { "dropped" } else { "scheduled" }
        return [
            "task_id": .string(id),
            "kie_task_id": .string(kieTaskId),
            "source_task_id": sourceTaskId.map(JSONValue.string) ?? .null,
            "family": .string(family.rawValue),
            "model": .string(model),
            "state": .string(scheduledState(at: now).rawValue),
            "outcome": .string(outcome.rawValue),
            "create_time": .int(createTime),
            "complete_at": .int(completeAt),
            "callback": .string(callback),
            // Where the callbacks go, its secrets redacted (the inspection shows no secret).
            "callback_url": callBackUrl.map { .string(URLRedaction.redact($0)) } ?? .null,
            "callback_copies": .int(callBackUrl == nil || plan.dropCallback ? 0 : Int64(plan.callbackCopies)),
            "callback_failed": .bool(callbackFailed),
            "late_ms": .int(plan.lateMillis),
            "early": .bool(plan.early),
            "status_fault": plan.statusFault.map { .int(Int64($0)) } ?? .null,
            "deliveries": .array(deliveries),
        ]
    }
}

extension CallbackDelivery {
    /// One attempt without its URL or body: `result` is `HTTP 200`, `timed out` or the transport
    /// error (redacted: an error about a bad URL quotes the URL, secret and all).
    var inspectionJSON: JSONValue {
        [
            "kind": kind.map(JSONValue.string) ?? .null,
            "copy": .int(Int64(copy)),
            "attempt": .int(Int64(attempt)),
            "time": .int(time),
            "delivered": .bool(result.isSuccess),
            "result": .string(URLRedaction.redact(result.description)),
        ]
    }
}
