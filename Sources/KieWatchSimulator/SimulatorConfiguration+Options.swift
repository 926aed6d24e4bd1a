import KieWatchCore
/// A bad `kiewatch simulate` argument: which flag, and what it expects. The command line prints
/// `description` as its one-line error and exits with status 2.
public struct SimulatorOptionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The flag as the user wrote it (without `=value`), or the stray argument.
    public var flag: String
    /// What was expected, in words.
    public var message: String

    public init(flag: String, message: String) {
        self.flag = flag
        self.message = message
    }

    public var description: String { "\(flag): \(message)" }
}

extension SimulatorConfiguration {
    /// The flags of `kiewatch simulate`, with their help lines, in the order `--help` shows them.
    public static let flags: [(flag: String, help: String)] = [
        ("--listen HOST:PORT", "address to serve the fake Kie API on (default 127.0.0.1:9500)"),
        ("--speed X", "run simulated work X times faster than Kie, 0.001-1000000 (default 1; 1000 turns minutes into tens of ms)"),
        ("--seed N", "seed of every random choice; same seed and requests, same run (default 1)"),
        ("--api-key K", "accept this API key (repeatable; default: any non-empty key)"),
        ("--credits N", "starting credit balance (default 100000)"),
        ("--fail-rate R", "fraction of tasks that end in fail (default 0)"),
        ("--drop-callbacks R", "fraction of callbacks never sent (default 0)"),
        ("--duplicate-callbacks R", "fraction of callbacks sent two or three times (default 0)"),
        ("--late-callbacks R", "fraction of callbacks sent 5-20 simulated minutes late (default 0)"),
        ("--early-callbacks R", "fraction of tasks whose callback arrives before the create answer (default 0)"),
        ("--rate-limit N/DURATION|off", "creates allowed per window per key; more get 429 (default 20/10s)"),
        ("--error-rate R", "fraction of requests answered 500 (half body code 500 over HTTP 200, half HTTP 500/502/503) (default 0)"),
        ("--maintenance DURATION@START", "answer 455 to everything for DURATION, START after launch (repeatable; e.g. 30s@2m)"),
        ("--slow-rate R", "fraction of requests answered slowly (default 0)"),
        ("--slow DURATION", "delay of a slow answer, real time (default 2s)"),
        ("--reset-rate R", "fraction of requests whose connection is closed without an answer (default 0)"),
        ("--callback-retry-delay DURATION", "wait between callback delivery attempts, scaled by speed (default 30s)"),
        ("--callback-retries N", "retries after a failed callback delivery (default 3, as Kie)"),
        ("--callback-timeout DURATION", "time the receiver has to answer a callback (default 15s, as Kie)"),
        ("--webhook-hmac-key K", "sign callbacks with X-Webhook-Timestamp / X-Webhook-Signature"),
        ("--legacy-payloads R", "fraction of tasks reported with older field spellings (default 0.25)"),
        ("--status-fault-rate R", "fraction of tasks whose status call answers code 501 or 408 once ended (default 0)"),
        ("--status-lag DURATION", "status calls answer 404 for this long after a create, scaled by speed (default 0)"),
        ("--stream-interval DURATION", "real-time gap between the events of a streamed chat answer (default 50ms)"),
    ]

    /// Parses the arguments after `kiewatch simulate` (not including it). Flags take their value
    /// as the next argument or after `=` (`--speed=1000`). `--help` is not handled here: the
    /// command line checks for it first and prints `flags`.
    public static func parse(arguments: [String]) throws(SimulatorOptionError) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                throw SimulatorOptionError(flag: argument, message: "unexpected argument; flags start with --")
            }
            let flag: String
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            } else {
                flag = argument
            }
            func value(_ expected: String) throws(SimulatorOptionError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else {
                    throw SimulatorOptionError(flag: flag, message: "expects a value: \(expected)")
                }
                index += 1
                return arguments[index - 1]
            }
            switch flag {
            case "--listen":
                configuration.listen = try parseListen(try value("HOST:PORT"), flag: flag)
            case "--speed":
                let text = try value("a number greater than 0")
                // Bounded both ways: simulated times are `seconds * 1000 / speed` in Int64, and
                // a speed of 1e-300 would make them infinite (a trap, not a slow run).
                guard let speed = Double(text), (0.001...1_000_000).contains(speed) else {
                    throw SimulatorOptionError(
                        flag: flag, message: "expected a number greater than 0 (from 0.001 to 1000000), got '\(text)'")
                }
                configuration.speed = speed
            case "--seed":
                let text = try value("an unsigned integer")
                guard let seed = UInt64(text) else {
                    throw SimulatorOptionError(flag: flag, message: "expected an unsigned integer, got '\(text)'")
                }
                configuration.seed = seed
            case "--api-key":
                let key = try value("an API key")
                guard !key.isEmpty else { throw SimulatorOptionError(flag: flag, message: "expected a non-empty API key") }
                configuration.acceptedKeys.append(key)
            case "--credits":
                let text = try value("a non-negative integer")
                guard let credits = Int64(text), credits >= 0 else {
                    throw SimulatorOptionError(flag: flag, message: "expected a non-negative integer, got '\(text)'")
                }
                configuration.initialCredits = credits
            case "--fail-rate": configuration.failureRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--drop-callbacks": configuration.dropCallbackRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--duplicate-callbacks":
                configuration.duplicateCallbackRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--late-callbacks": configuration.lateCallbackRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--early-callbacks": configuration.earlyCallbackRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--rate-limit":
                configuration.rateLimit = try parseRateLimit(try value("N/DURATION (e.g. 20/10s) or off"), flag: flag)
            case "--error-rate": configuration.serverErrorRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--maintenance":
                configuration.maintenanceWindows.append(
                    try parseMaintenance(try value("DURATION@START (e.g. 30s@2m)"), flag: flag))
            case "--slow-rate": configuration.slowAnswerRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--slow": configuration.slowAnswerDelay = try parseDurationValue(try value("a duration like 500ms or 2s"), flag: flag)
            case "--reset-rate": configuration.connectionResetRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--callback-retry-delay":
                configuration.callbackRetryDelay = try parseDurationValue(try value("a duration like 30s"), flag: flag)
            case "--callback-retries":
                let text = try value("a non-negative integer")
                guard let retries = Int(text), retries >= 0 else {
                    throw SimulatorOptionError(flag: flag, message: "expected a non-negative integer, got '\(text)'")
                }
                configuration.maxCallbackRetries = retries
            case "--callback-timeout":
                configuration.callbackTimeout = try parseDurationValue(try value("a duration like 15s"), flag: flag)
            case "--webhook-hmac-key":
                let key = try value("a signing key")
                guard !key.isEmpty else { throw SimulatorOptionError(flag: flag, message: "expected a non-empty key") }
                configuration.webhookHMACKey = key
            case "--legacy-payloads":
                configuration.legacyPayloadRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--status-fault-rate":
                configuration.statusFaultRate = try parseRate(try value("a rate between 0 and 1"), flag: flag)
            case "--status-lag":
                configuration.statusLag = try parseDurationValue(try value("a duration like 5s"), flag: flag)
            case "--stream-interval":
                configuration.streamInterval = try parseDurationValue(try value("a duration like 50ms"), flag: flag)
            default:
                throw SimulatorOptionError(flag: flag, message: "unknown option; see `kiewatch simulate --help`")
            }
        }
        return configuration
    }

    /// The flags as aligned help lines, for `kiewatch simulate --help`.
    public static var helpText: String {
        let width = flags.map(\.flag.count).max() ?? 0
        let lines = flags.map { "  " + $0.flag + String(repeating: " ", count: width - $0.flag.count + 2) + $0.help }
        return "usage: kiewatch simulate [options]\n\n" + lines.joined(separator: "\n") + "\n"
    }

    private static func parseRate(_ text: String, flag: String) throws(SimulatorOptionError) -> Double {
        guard let rate = Double(text), rate.isFinite, (0...1).contains(rate) else {
            throw SimulatorOptionError(flag: flag, message: "expected a rate between 0 and 1, got '\(text)'")
        }
        return rate
    }

    private static func parseDurationValue(_ text: String, flag: String) throws(SimulatorOptionError) -> Duration {
        guard let duration = parseDuration(text) else {
            throw SimulatorOptionError(flag: flag, message: "expected a duration like 500ms, 30s, 15m, 2h or 1d, got '\(text)'")
        }
        return duration
    }

    private static func parseListen(_ text: String, flag: String) throws(SimulatorOptionError) -> String {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw SimulatorOptionError(flag: flag, message: "expected HOST:PORT with a port in 0-65535 (0: any free port), got '\(text)'")
        }
        return text
    }

    private static func parseRateLimit(_ text: String, flag: String) throws(SimulatorOptionError) -> RateLimit? {
        if text == "off" { return nil }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let requests = Int(parts[0]), requests > 0,
            let window = parseDuration(String(parts[1])), window > .zero
        else {
            throw SimulatorOptionError(flag: flag, message: "expected N/DURATION like 20/10s, or off, got '\(text)'")
        }
        return RateLimit(requests: requests, window: window)
    }

    private static func parseMaintenance(_ text: String, flag: String) throws(SimulatorOptionError) -> MaintenanceWindow {
        let parts = text.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let duration = parseDuration(String(parts[0])), duration > .zero,
            let start = parseDuration(String(parts[1]))
        else {
            throw SimulatorOptionError(flag: flag, message: "expected DURATION@START like 30s@2m, got '\(text)'")
        }
        return MaintenanceWindow(start: start, duration: duration)
    }
}

/// A duration as every kiewatch command reads them (`500ms`, `30s`, `15m`, `2h`, `1d`).
func parseDuration(_ text: String) -> Duration? {
    DurationText.parseMillis(text).map { .milliseconds($0) }
}
