import KieWatchAgent
import KieWatchCore
import Testing

@Suite struct AgentConfigurationTests {
    func resolve(_ args: [String], env: [String: String] = [:], files: [String: String] = [:]) throws(ConfigError)
        -> AgentConfiguration
    {
        try AgentConfiguration.resolve(arguments: args, environment: env) { path in
            guard let text = files[path] else { throw ConfigError("no such file") }
            return text
        }
    }

    @Test func defaults() throws {
        let c = try resolve([])
        #expect(c.listen.description == "127.0.0.1:9464")
        #expect(c.databasePath == "./kiewatch.db")
        #expect(c.upstream == "https://api.kie.ai")
        #expect(c.uploadUpstream == "https://kieai.redpandaai.co")
        #expect(c.effectivePublicURL == "http://127.0.0.1:9464")
        #expect(c.adminSocketPath == "./kiewatch.sock")
        #expect(c.retentionMillis == 14 * 86_400_000)
        #expect(c.apiKey == nil)
        #expect(c.callbackURL(for: .veo) == "http://127.0.0.1:9464/webhooks/veo")
    }

    @Test func flagsBeatEnvironmentBeatFile() throws {
        let files = ["k.conf": "listen = 127.0.0.1:1\nretention = 2d\ndeadline.veo3 = 9m\nrelay_give_up = 6h\n"]
        let env = [
            "KIEWATCH_CONFIG": "k.conf", "KIEWATCH_LISTEN": "127.0.0.1:2", "KIE_MARKET_BASE_URL": "http://127.0.0.1:9500/",
            "KIE_API_KEY": "key", "KIE_CALLBACK_SECRET": "s e/cret", "KIEWATCH_PUBLIC_URL": "https://hooks.example",
        ]
        let c = try resolve(["--listen", "127.0.0.1:3"], env: env, files: files)
        #expect(c.listen.port == 3)
        #expect(c.upstream == "http://127.0.0.1:9500")
        #expect(c.retentionMillis == 2 * 86_400_000)
        #expect(c.deadlines.perModel["veo3"] == 540_000)
        #expect(c.relayGiveUpMillis == 6 * 3_600_000)
        #expect(c.apiKey == "key")
        #expect(c.callbackURL(for: .market) == "https://hooks.example/webhooks/kie?secret=s%20e%2Fcret")
        #expect(try resolve([], env: env, files: files).listen.port == 2)
    }

    @Test func badValuesNameTheirSource() {
        #expect(throws: ConfigError("--retention: expected a duration such as 500ms, 30s, 15m, 2h or 14d, got '14'")) {
            try resolve(["--retention", "14"])
        }
        #expect(throws: ConfigError("KIEWATCH_LISTEN: expected HOST:PORT such as 127.0.0.1:9464, got 'nope'")) {
            try resolve([], env: ["KIEWATCH_LISTEN": "nope"])
        }
        #expect(throws: ConfigError("k.conf:1: upstream: expected an http:// or https:// URL, got 'api.kie.ai'")) {
            try resolve(["--config", "k.conf"], files: ["k.conf": "upstream = api.kie.ai"])
        }
        #expect(throws: ConfigError("--recovery-rate: expected a number of polls per second above 0 and at most 10, got '20'")) {
            try resolve(["--recovery-rate", "20"])
        }
        #expect(throws: ConfigError("--config: cannot read 'missing.conf': no such file")) {
            try resolve(["--config", "missing.conf"])
        }
        #expect(throws: ConfigError("extra: unexpected argument (see --help)")) { try resolve(["extra"]) }
    }

    /// A duration whose parts add up past Int64 trapped (exit 132) on the way to the documented
    /// one-line error; now it is that error, wherever the value comes from.
    @Test func durationsTooLongToAddUpAreOneLineErrors() throws {
        let huge = String(repeating: "8999999999999999ms", count: 1100)  // sums past Int64.max
        #expect(throws: ConfigError("--retention: a duration can be at most 36500d")) {
            try resolve(["--retention", huge])
        }
        #expect(throws: ConfigError("KIEWATCH_RETENTION: a duration can be at most 36500d")) {
            try resolve([], env: ["KIEWATCH_RETENTION": huge])
        }
        for key in ["retention", "relay_give_up", "recovery_give_up", "credit_check_interval", "upstream_timeout", "deadline.veo3"] {
            #expect(throws: ConfigError("k.conf:1: \(key): a duration can be at most 36500d")) {
                try resolve(["--config", "k.conf"], files: ["k.conf": "\(key) = \(huge)"])
            }
        }
        #expect(try resolve(["--retention", "36500d"]).retentionMillis == DurationText.maxMillis)
    }

    @Test func shutdownGraceFromFlagEnvironmentOrFile() throws {
        #expect(try resolve([]).shutdownGraceMillis == 10_000)
        #expect(try resolve(["--grace", "1s"]).shutdownGraceMillis == 1_000)
        #expect(try resolve([], env: ["KIEWATCH_SHUTDOWN_GRACE": "250ms"]).shutdownGraceMillis == 250)
        #expect(try resolve(["--config", "k.conf"], files: ["k.conf": "shutdown_grace = 30s"]).shutdownGraceMillis == 30_000)
        #expect(try resolve(["--grace", "0s"]).shutdownGraceMillis == 0)
        #expect(throws: ConfigError("--grace: the shutdown grace must be from 0s to 1h, got '2h'")) {
            try resolve(["--grace", "2h"])
        }
        #expect(throws: ConfigError("--grace: expected a duration such as 500ms, 30s, 15m, 2h or 14d, got '10'")) {
            try resolve(["--grace", "10"])
        }
    }
}
