import Testing

@testable import KieWatchSimulator

@Suite struct SimulatorConfigurationTests {
    @Test func defaultsAreAWellBehavedKieWithTheRealRateLimit() {
        let c = SimulatorConfiguration()
        #expect(c.failureRate == 0 && c.dropCallbackRate == 0 && c.duplicateCallbackRate == 0)
        #expect(c.lateCallbackRate == 0 && c.earlyCallbackRate == 0 && c.serverErrorRate == 0)
        #expect(c.statusFaultRate == 0 && c.statusLag == .zero)
        #expect(c.slowAnswerRate == 0 && c.connectionResetRate == 0 && c.maintenanceWindows.isEmpty)
        #expect(c.rateLimit == SimulatorConfiguration.RateLimit(requests: 20, window: .seconds(10)))
        #expect(c.callbackTimeout == .seconds(15) && c.maxCallbackRetries == 3)
    }

    @Test func parsesEveryFlag() throws {
        let c = try SimulatorConfiguration.parse(arguments: [
            "--listen", "127.0.0.1:9600", "--speed", "1000", "--seed", "42", "--api-key", "a", "--api-key=b",
            "--credits", "10000", "--fail-rate", "0.1", "--drop-callbacks", "0.1", "--duplicate-callbacks", "0.05",
            "--late-callbacks", "0.05", "--early-callbacks", "0.02", "--rate-limit", "30/1m", "--error-rate", "0.01",
            "--maintenance", "30s@2m", "--maintenance", "1m@1h", "--slow-rate", "0.05", "--slow", "500ms",
            "--reset-rate", "0.01", "--callback-retry-delay", "10s", "--callback-retries", "5",
            "--callback-timeout", "2s", "--webhook-hmac-key", "whsec", "--legacy-payloads", "0",
            "--status-fault-rate", "0.05", "--status-lag", "3s", "--stream-interval", "10ms",
        ])
        #expect(c.listen == "127.0.0.1:9600")
        #expect(c.speed == 1000 && c.seed == 42 && c.acceptedKeys == ["a", "b"] && c.initialCredits == 10000)
        #expect(c.failureRate == 0.1 && c.dropCallbackRate == 0.1 && c.duplicateCallbackRate == 0.05)
        #expect(c.lateCallbackRate == 0.05 && c.earlyCallbackRate == 0.02 && c.serverErrorRate == 0.01)
        #expect(c.rateLimit == SimulatorConfiguration.RateLimit(requests: 30, window: .seconds(60)))
        #expect(
            c.maintenanceWindows == [
                .init(start: .seconds(120), duration: .seconds(30)), .init(start: .seconds(3600), duration: .seconds(60)),
            ])
        #expect(c.slowAnswerRate == 0.05 && c.slowAnswerDelay == .milliseconds(500) && c.connectionResetRate == 0.01)
        #expect(c.callbackRetryDelay == .seconds(10) && c.maxCallbackRetries == 5 && c.callbackTimeout == .seconds(2))
        #expect(c.webhookHMACKey == "whsec" && c.legacyPayloadRate == 0)
        #expect(c.statusFaultRate == 0.05 && c.statusLag == .seconds(3) && c.streamInterval == .milliseconds(10))
    }

    @Test func rateLimitCanBeTurnedOff() throws {
        #expect(try SimulatorConfiguration.parse(arguments: ["--rate-limit", "off"]).rateLimit == nil)
    }

    @Test(arguments: [
        (["--fail-rate", "1.5"], "--fail-rate", "rate between 0 and 1"),
        (["--fail-rate"], "--fail-rate", "expects a value"),
        (["--speed", "0"], "--speed", "greater than 0"),
        (["--speed", "1e-300"], "--speed", "from 0.001 to 1000000"),
        (["--speed", "1e400"], "--speed", "from 0.001 to 1000000"),
        (["--speed", "nan"], "--speed", "from 0.001 to 1000000"),
        (["--slow", "2"], "--slow", "duration like 500ms"),
        (["--slow", "2w"], "--slow", "duration like 500ms"),
        (["--rate-limit", "20"], "--rate-limit", "N/DURATION"),
        (["--maintenance", "30s"], "--maintenance", "DURATION@START"),
        (["--listen", "localhost"], "--listen", "HOST:PORT"),
        (["--seed", "-1"], "--seed", "unsigned integer"),
        (["--bogus", "1"], "--bogus", "unknown option"),
        (["stray"], "stray", "unexpected argument"),
    ])
    func badArgumentsNameTheFlagAndWhatIsExpected(arguments: [String], flag: String, expected: String) {
        #expect {
            _ = try SimulatorConfiguration.parse(arguments: arguments)
        } throws: { error in
            guard let error = error as? SimulatorOptionError else { return false }
            return error.flag == flag && error.message.contains(expected) && error.description.hasPrefix(flag + ": ")
        }
    }

    @Test func durations() {
        #expect(parseDuration("500ms") == .milliseconds(500))
        #expect(parseDuration("30s") == .seconds(30))
        #expect(parseDuration("15m") == .seconds(900))
        #expect(parseDuration("2h") == .seconds(7200))
        #expect(parseDuration("14d") == .seconds(14 * 86400))
        for bad in ["", "s", "-1s", "10", "1 s", "99999999999999999999s"] { #expect(parseDuration(bad) == nil) }
    }

    @Test func everyDocumentedFlagIsAcceptedByTheParser() throws {
        let samples = [
            "HOST:PORT": "127.0.0.1:1", "X": "2", "N": "3", "K": "k", "R": "0.5", "DURATION": "1s",
            "N/DURATION|off": "off", "DURATION@START": "1s@1s",
        ]
        for (flag, _) in SimulatorConfiguration.flags {
            let parts = flag.split(separator: " ").map(String.init)
            let value = try #require(samples[parts[1]], "no sample for \(flag)")
            _ = try SimulatorConfiguration.parse(arguments: [parts[0], value])
            #expect(SimulatorConfiguration.helpText.contains(parts[0]))
        }
    }
}
