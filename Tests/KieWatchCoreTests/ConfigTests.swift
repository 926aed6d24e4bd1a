import KieWatchCore
import Synchronization
import Testing

@Suite struct DurationTextTests {
    @Test func parses() {
        #expect(DurationText.parseMillis("500ms") == 500)
        #expect(DurationText.parseMillis("30s") == 30_000)
        #expect(DurationText.parseMillis("15m") == 900_000)
        #expect(DurationText.parseMillis("2h") == 7_200_000)
        #expect(DurationText.parseMillis("14d") == 1_209_600_000)
        #expect(DurationText.parseMillis("1h30m") == 5_400_000)
        #expect(DurationText.parseMillis(" 1.5s ") == 1500)
        #expect(DurationText.parseMillis("0s") == 0)
    }

    @Test func rejects() {
        for bad in ["", "10", "s", "10x", "-5s", "5 s", "1e3s", "ms", "10s5", "99999999999999d"] {
            #expect(DurationText.parseMillis(bad) == nil, "\(bad)")
        }
        #expect(throws: ConfigError("--retention: expected a duration such as 500ms, 30s, 15m, 2h or 14d, got '10'")) {
            try DurationText.parse("10", for: "--retention")
        }
    }

    /// Each part is under the old per-part limit (9e15); 1,100 of them sum past Int64.max, which
    /// trapped (1,000, the issue's example, stays just below it but is no duration either). It
    /// must be refused (nil, and a one-line error naming the flag), never overflow.
    @Test func hugeRepeatedPartsAreTooLongNotATrap() {
        let huge = String(repeating: "8999999999999999ms", count: 1100)
        #expect(DurationText.read(String(repeating: "8999999999999999ms", count: 1000)) == .tooLong)
        #expect(DurationText.parseMillis(huge) == nil)
        #expect(DurationText.read(huge) == .tooLong)
        #expect(throws: ConfigError("--retention: a duration can be at most 36500d")) {
            try DurationText.parse(huge, for: "--retention")
        }
        for tooLong in ["36500d1ms", "36501d", "9223372036854775807ms", "1" + String(repeating: "0", count: 400) + "d",
                        String(repeating: "1d", count: 36_501)] {
            #expect(DurationText.read(tooLong) == .tooLong, "\(tooLong.prefix(40))")
        }
        #expect(DurationText.parseMillis("36500d") == DurationText.maxMillis)
        #expect(DurationText.parseMillis(String(repeating: "1d", count: 36_500)) == DurationText.maxMillis)
        // Garbage after a too-long part is still garbage.
        #expect(DurationText.read("99999999d x") == .invalid)
        // Every accepted duration fits Int64 nanoseconds.
        #expect(DurationText.maxMillis.multipliedReportingOverflow(by: 1_000_000).overflow == false)
    }

    @Test func formats() {
        #expect(DurationText.format(millis: 1500) == "1500ms")
        #expect(DurationText.format(millis: 30_000) == "30s")
        #expect(DurationText.format(millis: 5_400_000) == "1h30m")
        #expect(DurationText.format(millis: 1_209_600_000) == "14d")
        #expect(DurationText.format(millis: 0) == "0s")
    }
}

@Suite struct ConfigFileTests {
    @Test func parsesKeyValues() throws {
        let text = """
            # kiewatch config
            retention = 7d
            deadline.default = 10m
            deadline.sora-2-pro = "25m"   
            listen = 127.0.0.1:9464 # inline comment

            """
        let config = try ConfigFile.parse(text, path: "k.conf")
        #expect(config["retention"] == "7d")
        #expect(config["deadline.sora-2-pro"] == "25m")
        #expect(config["listen"] == "127.0.0.1:9464")
        #expect(config.entries(withPrefix: "deadline.").keys.sorted() == ["default", "sora-2-pro"])
        #expect(config.location(of: "retention") == "k.conf:2: retention")
    }

    @Test func rejectsBadLines() {
        #expect(throws: ConfigError("k.conf:2: expected 'key = value', got 'oops'")) {
            try ConfigFile.parse("a = 1\noops\n", path: "k.conf")
        }
        #expect(throws: ConfigError("k.conf:2: 'a' is set twice")) { try ConfigFile.parse("a = 1\na = 2", path: "k.conf") }
        #expect(throws: ConfigError.self) { try ConfigFile.parse("my key = 1") }
    }
}

@Suite struct CommandLineOptionsTests {
    let specs = [
        OptionSpec("--listen", value: "HOST:PORT", env: "KIEWATCH_LISTEN", default: "127.0.0.1:9464", help: "listen"),
        OptionSpec("--db", value: "PATH", env: "KIEWATCH_DB", help: "db"),
        OptionSpec("--json", help: "json"),
        OptionSpec("--api-key", value: "KEY", repeatable: true, help: "key"),
        OptionSpec("--command", short: "-c", value: "CMD", help: "cmd"),
    ]

    @Test func flagBeatsEnvironmentBeatsConfig() throws {
        let config = try ConfigFile.parse("listen = 1.1.1.1:1\ndb = /c.db", path: "c")
        let env = ["KIEWATCH_LISTEN": "2.2.2.2:2", "KIEWATCH_DB": ""]
        let withFlag = try CommandLineOptions(["--listen", "3.3.3.3:3"], specs: specs)
        #expect(withFlag.lookup("--listen", environment: env, config: config, configKey: "listen")?.value == "3.3.3.3:3")
        let noFlag = try CommandLineOptions([], specs: specs)
        #expect(noFlag.lookup("--listen", environment: env, config: config, configKey: "listen")?.value == "2.2.2.2:2")
        #expect(noFlag.lookup("--db", environment: env, config: config, configKey: "db")?.source == "c:2: db")
        #expect(noFlag.lookup("--listen") == nil)
    }

    @Test func formsAndPositionals() throws {
        let o = try CommandLineOptions(["--db=x.db", "--json", "-c", "models 24h", "--api-key", "a", "--api-key", "b", "rest"], specs: specs)
        #expect(o.lookup("--db")?.value == "x.db")
        #expect(o.has("--json"))
        #expect(o.lookup("--command")?.value == "models 24h")
        #expect(o.all("--api-key") == ["a", "b"])
        #expect(o.positionals == ["rest"])
    }

    @Test func errorsNameTheFlag() {
        #expect(throws: ConfigError("--bogus: unknown option (see --help)")) { try CommandLineOptions(["--bogus"], specs: specs) }
        #expect(throws: ConfigError("--db: expects a value (PATH)")) { try CommandLineOptions(["--db"], specs: specs) }
        #expect(throws: ConfigError("--db: given more than once")) { try CommandLineOptions(["--db", "a", "--db", "b"], specs: specs) }
        #expect(throws: ConfigError("--json: takes no value")) { try CommandLineOptions(["--json=1"], specs: specs) }
    }

    @Test func hostPort() throws {
        #expect(try HostPort.parse("127.0.0.1:9464", for: "--listen") == HostPort(host: "127.0.0.1", port: 9464))
        #expect(try HostPort.parse("[::1]:80", for: "--listen") == HostPort(host: "::1", port: 80))
        #expect(try HostPort.parse("[::1]:80", for: "--listen").description == "[::1]:80")
        #expect(throws: ConfigError("--listen: expected HOST:PORT such as 127.0.0.1:9464, got 'localhost'")) {
            try HostPort.parse("localhost", for: "--listen")
        }
        #expect(throws: ConfigError.self) { try HostPort.parse("h:70000", for: "--listen") }
    }

    @Test func baseURL() throws {
        #expect(try parseBaseURL("http://127.0.0.1:9500/", for: "--upstream") == "http://127.0.0.1:9500")
        #expect(throws: ConfigError("--upstream: expected an http:// or https:// URL, got 'ftp://x'")) {
            try parseBaseURL("ftp://x", for: "--upstream")
        }
    }
}

@Suite struct LoggerTests {
    @Test func logfmtLinesQuoteWhatNeedsIt() {
        let lines = LineCollector()
        let log = Logger(minimum: .info, clock: TestClock(1_767_225_600_123), sink: { lines.append($0) })
        log.debug("hidden")
        log.info("webhook.accepted", ["task": "abc", "msg": "two words", "q": "a\"b\nc", "empty": ""])
        #expect(lines.all == [
            #"ts=2026-01-01T00:00:00.123Z level=info event=webhook.accepted task=abc msg="two words" q="a\"b\nc" empty="""#
        ])
        #expect(Logger.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Logger.iso8601(951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }
}

final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}
