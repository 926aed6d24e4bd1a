import KieWatchAgent
import KieWatchCore
import Testing

/// The circuit breaker's two config-file keys: documented defaults, bounds, one-line errors.
@Suite struct RelayBreakerConfigurationTests {
    func resolve(_ file: String) throws(ConfigError) -> AgentConfiguration {
        try AgentConfiguration.resolve(arguments: ["--config", "k.conf"], environment: [:]) { _ in file }
    }

    @Test func defaultsAndValues() throws {
        let defaults = try resolve("")
        #expect(defaults.relayBreakerFailures == 5 && defaults.relayBreakerProbeIntervalMillis == 30_000)
        let set = try resolve("relay_breaker_failures = 3\nrelay_breaker_probe_interval = 2m\n")
        #expect(set.relayBreakerFailures == 3 && set.relayBreakerProbeIntervalMillis == 120_000)
    }

    @Test(arguments: [
        ("relay_breaker_failures = 0", "k.conf:1: relay_breaker_failures: expected a whole number from 1 to 1000, got '0'"),
        ("relay_breaker_failures = 99999999999999999999", "k.conf:1: relay_breaker_failures: expected a whole number from 1 to 1000, got '99999999999999999999'"),
        ("relay_breaker_failures = five", "k.conf:1: relay_breaker_failures: expected a whole number from 1 to 1000, got 'five'"),
        ("relay_breaker_probe_interval = 500ms", "k.conf:1: relay_breaker_probe_interval: the probe interval must be from 1s to 1h, got '500ms'"),
        ("relay_breaker_probe_interval = 2h", "k.conf:1: relay_breaker_probe_interval: the probe interval must be from 1s to 1h, got '2h'"),
        ("relay_breaker_probe_interval = soon", "k.conf:1: relay_breaker_probe_interval: expected a duration such as 500ms, 30s, 15m, 2h or 14d, got 'soon'"),
    ])
    func badValuesAreOneLineErrors(line: String, message: String) {
        #expect(throws: ConfigError(message)) { try resolve(line) }
    }
}
