import KieWatchCore
import KieWatchStore

/// The console's actions on the relay (see `AgentActions` and `RelayWorker+Actions`).
extension Agent {
    public func replay(taskID: String) async throws -> ReplayReport {
        try await relay.replay(taskID: taskID, pollingEnabled: recovery.isEnabled) { [recovery] task in
            await recovery.pollForReplay(task)
        }
    }

    public func retryRelay(id: Int64) async throws -> RelayRetryReport {
        try await relay.retry(relayID: id)
    }

    public func retryGivenUpRelays(
        withinMillis window: Int64?, model: String?, confirmed: Bool
    ) async throws -> RelayRetryReport {
        var target = "relay retry gave_up"
        if let window { target += " since=" + DurationText.format(millis: window) }
        if let model { target += " model=" + model }
        let since = window.map { context.clock.now().saturatingSubtracting($0) }
        return try await relay.retryGivenUp(
            GivenUpRelaySelection(since: since, model: model), target: target, confirmed: confirmed)
    }

    public func pauseRelay(forMillis millis: Int64?) async throws -> RelayPauseReport {
        try await relay.pause(forMillis: millis)
    }

    public func resumeRelay() async throws -> RelayPauseReport {
        try await relay.resume()
    }

    public func relayCircuits() -> [RelayCircuitSnapshot] {
        relay.breaker.snapshot().sorted { ($0.isOpen ? 0 : 1, $0.destination) < ($1.isOpen ? 0 : 1, $1.destination) }
    }
}
