import KieWatchCore

// The on-call actions' rows (`actions`, `action_tasks`) and the relay's stored pause switch.

/// What an on-call engineer (or the agent on their behalf) did to the relay.
package enum ConsoleActionKind: String, Sendable, CaseIterable {
    /// `replay TASK`: the task's result queued for the app once more.
    case replay
    /// `relay retry ID` / `relay retry gave_up`: given-up relays put back in the outbox.
    case relayRetry = "relay_retry"
    /// `relay pause [DURATION]`: deliveries held.
    case relayPause = "relay_pause"
    /// `relay resume`, or a timed pause running out.
    case relayResume = "relay_resume"
}

/// Who asked for an action.
package enum ConsoleActionActor: String, Sendable, CaseIterable {
    /// A console command over the admin socket (`kiewatch console`, `-c`, or a plain socket client).
    case adminSocket = "admin_socket"
    /// The agent itself: a timed pause that ran out.
    case agent
}

/// One recorded action: who, what, and how many relays it queued, put back, held or released.
package struct ConsoleActionRecord: Sendable, Equatable {
    package var id: Int64?
    package var ts: EpochMillis
    package var actor: ConsoleActionActor
    package var action: ConsoleActionKind
    /// What it was asked for: a task id, a relay id (`#12`), `gave_up since=24h model=M`, `15m`.
    package var target: String
    package var count: Int
    /// The outcome in words (`from the recorded callback`, `already pending as #12`).
    package var detail: String?

    package init(
        id: Int64? = nil, ts: EpochMillis, actor: ConsoleActionActor, action: ConsoleActionKind, target: String,
        count: Int, detail: String? = nil
    ) {
        self.id = id
        self.ts = ts
        self.actor = actor
        self.action = action
        self.target = target
        self.count = count
        self.detail = detail
    }
}

/// An action as one task's timeline shows it: the action and the relay it touched for that task.
package struct TaskActionRecord: Sendable, Equatable {
    package var action: ConsoleActionRecord
    package var outboxID: Int64?
}

/// The relay's pause switch, stored so a restart keeps holding deliveries.
package struct RelayPause: Sendable, Equatable {
    /// When deliveries were first held (a second `relay pause` keeps it: the give-up clocks
    /// stop for the whole pause).
    package var since: EpochMillis
    /// When the agent resumes by itself; nil: only `relay resume` does.
    package var until: EpochMillis?

    package init(since: EpochMillis, until: EpochMillis?) {
        self.since = since
        self.until = until
    }

    /// Whether deliveries are held at `now`.
    package func holds(at now: EpochMillis) -> Bool {
        until.map { now < $0 } ?? true
    }
}

/// Which given-up relays `relay retry gave_up` puts back in the outbox.
package struct GivenUpRelaySelection: Sendable, Equatable {
    /// Given up at or after this time; nil: whenever.
    package var since: EpochMillis?
    /// Relays of this model's tasks only.
    package var model: String?

    package init(since: EpochMillis? = nil, model: String? = nil) {
        self.since = since
        self.model = model
    }
}

/// How many given-up relays a selection matches, and how many of them a retry would put back:
/// one per task (its newest), and none for a task that has a relay pending or delivered since.
package struct GivenUpRelayCounts: Sendable, Equatable {
    package var givenUp: Int64
    package var retryable: Int64
}
