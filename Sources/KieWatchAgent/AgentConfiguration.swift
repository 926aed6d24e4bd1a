import KieWatchCore
import KieWatchHTTP

/// Everything `kiewatch serve` needs, resolved from flags, environment and the config file
/// (flag wins, then environment, then file, then the documented default).
public struct AgentConfiguration: Sendable {
    public var listen = HostPort(host: "127.0.0.1", port: 9464)
    public var databasePath = "./kiewatch.db"
    public var upstream = "https://api.kie.ai"
    public var uploadUpstream = "https://kieai.redpandaai.co"
    /// The base URL Kie must reach for callbacks; defaults to `http://<listen>`.
    public var publicURL: String?
    public var adminSocketPath = "./kiewatch.sock"
    public var retentionMillis: Int64 = 14 * 86_400_000
    /// Key for the agent's own status polls and credit checks; recovery is off without it.
    public var apiKey: String?
    public var callbackSecret: String?
    public var webhookHMACKey: String?
    public var deadlines = DeadlinePolicy.Settings()
    /// Recovery polls per second across all tasks (never above Kie's 10/s).
    public var recoveryRatePerSecond: Double = 5
    public var recoveryGiveUpMillis: Int64 = 15 * 60_000
    public var relayGiveUpMillis: Int64 = 24 * 3_600_000
    /// Consecutive failures of one destination (scheme, host, port) that open its circuit:
    /// from then on one probe at a time tries it, instead of every relay on its own schedule.
    public var relayBreakerFailures = 5
    /// How long an open circuit waits before its first probe; doubled after each failed
    /// probe, up to `RelayCircuitBreaker.maxProbeIntervalMillis` (or this, when longer).
    public var relayBreakerProbeIntervalMillis: Int64 = 30_000
    public var creditCheckIntervalMillis: Int64 = 5 * 60_000
    public var upstreamTimeoutMillis: Int64 = 60_000
    /// Distinct model label values kept before folding into `other`.
    public var modelLabelCap = 64
    /// How long SIGTERM/SIGINT lets requests under way and background work finish before they
    /// are cut (a second signal cuts at once).
    public var shutdownGraceMillis: Int64 = 10_000
    /// Longest `--grace`: a stop that may take longer is a hang to the supervisor.
    public static let maxShutdownGraceMillis: Int64 = 3_600_000

    public init() {}

    /// The effective public URL.
    public var effectivePublicURL: String { publicURL ?? "http://\(listen)" }

    /// The callback URL sent to Kie for a family: the agent's webhook path, with the route's
    /// token when there is one (`/webhooks/kie/<token>`), and the secret, because Kie can carry
    /// a secret only in the URL.
    public func callbackURL(for family: TaskFamily, token: String? = nil) -> String {
        var base = effectivePublicURL + family.webhookPath
        if let token { base += "/" + token }
        guard let callbackSecret, !callbackSecret.isEmpty else { return base }
        return base + "?secret=" + percentEncode(callbackSecret)
    }

    public static let options: [OptionSpec] = [
        OptionSpec("--listen", value: "HOST:PORT", env: "KIEWATCH_LISTEN", default: "127.0.0.1:9464", help: "address to serve the proxy, webhooks and /metrics on"),
        OptionSpec("--db", value: "PATH", env: "KIEWATCH_DB", default: "./kiewatch.db", help: "SQLite database file (created 0600)"),
        OptionSpec("--upstream", value: "URL", env: "KIE_MARKET_BASE_URL", default: "https://api.kie.ai", help: "Kie API base URL"),
        OptionSpec("--upload-upstream", value: "URL", env: "KIE_UPLOAD_BASE_URL", default: "https://kieai.redpandaai.co", help: "Kie upload base URL"),
        OptionSpec("--public-url", value: "URL", env: "KIEWATCH_PUBLIC_URL", default: "http://<listen>", help: "base URL Kie must reach for callbacks"),
        OptionSpec("--admin-socket", value: "PATH", env: "KIEWATCH_ADMIN_SOCKET", default: "./kiewatch.sock", help: "Unix socket for the console (mode 0600)"),
        OptionSpec("--retention", value: "DURATION", env: "KIEWATCH_RETENTION", default: "14d", help: "how long rows are kept"),
        OptionSpec("--config", value: "FILE", env: "KIEWATCH_CONFIG", help: "key = value file (per-model deadlines: deadline.<model> = 10m)"),
        OptionSpec("--recovery-rate", value: "N", env: "KIEWATCH_RECOVERY_RATE", default: "5", help: "recovery polls per second, at most 10"),
        OptionSpec("--grace", value: "DURATION", env: "KIEWATCH_SHUTDOWN_GRACE", default: "10s", help: "on SIGTERM/SIGINT, how long requests and background work may finish (a second signal stops at once)"),
    ]

    /// Resolves the configuration; errors name the flag, variable or file line.
    public static func resolve(
        arguments: [String], environment: [String: String], readFile: (String) throws -> String
    ) throws(ConfigError) -> AgentConfiguration {
        let cli = try CommandLineOptions(arguments, specs: options)
        if let extra = cli.positionals.first { throw ConfigError("\(extra): unexpected argument (see --help)") }
        var config: ConfigFile?
        if let path = cli.lookup("--config", environment: environment) {
            let text: String
            do { text = try readFile(path.value) } catch {
                throw ConfigError("\(path.source): cannot read '\(path.value)': \(error)")
            }
            config = try ConfigFile.parse(text, path: path.value)
        }
        func value(_ flag: String, _ key: String) -> (value: String, source: String)? {
            cli.lookup(flag, environment: environment, config: config, configKey: key)
        }
        var c = AgentConfiguration()
        if let v = value("--listen", "listen") { c.listen = try HostPort.parse(v.value, for: v.source) }
        if let v = value("--db", "db") { c.databasePath = v.value }
        if let v = value("--upstream", "upstream") { c.upstream = try parseBaseURL(v.value, for: v.source) }
        if let v = value("--upload-upstream", "upload_upstream") { c.uploadUpstream = try parseBaseURL(v.value, for: v.source) }
        if let v = value("--public-url", "public_url") { c.publicURL = try parseBaseURL(v.value, for: v.source) }
        if let v = value("--admin-socket", "admin_socket") { c.adminSocketPath = v.value }
        if let v = value("--retention", "retention") {
            c.retentionMillis = try DurationText.parse(v.value, for: v.source)
            guard c.retentionMillis >= 3_600_000 else { throw ConfigError("\(v.source): retention must be at least 1h") }
        }
        if let v = value("--recovery-rate", "recovery_rate") {
            guard let rate = Double(v.value), rate > 0, rate <= 10 else {
                throw ConfigError("\(v.source): expected a number of polls per second above 0 and at most 10, got '\(v.value)'")
            }
            c.recoveryRatePerSecond = rate
        }
        if let v = value("--grace", "shutdown_grace") {
            let millis = try DurationText.parse(v.value, for: v.source)
            guard millis >= 0, millis <= maxShutdownGraceMillis else {
                throw ConfigError("\(v.source): the shutdown grace must be from 0s to 1h, got '\(v.value)'")
            }
            c.shutdownGraceMillis = millis
        }
        if let config {
            if let raw = config["recovery_give_up"] {
                c.recoveryGiveUpMillis = try DurationText.parse(raw, for: config.location(of: "recovery_give_up"))
            }
            if let raw = config["relay_give_up"] {
                c.relayGiveUpMillis = try DurationText.parse(raw, for: config.location(of: "relay_give_up"))
            }
            if let raw = config["relay_breaker_failures"] {
                guard let failures = Int(raw), (1...1_000).contains(failures) else {
                    throw ConfigError(
                        "\(config.location(of: "relay_breaker_failures")): expected a whole number from 1 to 1000, got '\(raw)'")
                }
                c.relayBreakerFailures = failures
            }
            if let raw = config["relay_breaker_probe_interval"] {
                let location = config.location(of: "relay_breaker_probe_interval")
                let millis = try DurationText.parse(raw, for: location)
                guard (1_000...3_600_000).contains(millis) else {
                    throw ConfigError("\(location): the probe interval must be from 1s to 1h, got '\(raw)'")
                }
                c.relayBreakerProbeIntervalMillis = millis
            }
            if let raw = config["credit_check_interval"] {
                c.creditCheckIntervalMillis = try DurationText.parse(raw, for: config.location(of: "credit_check_interval"))
            }
            if let raw = config["upstream_timeout"] {
                c.upstreamTimeoutMillis = try DurationText.parse(raw, for: config.location(of: "upstream_timeout"))
            }
            if let raw = config["model_label_cap"] {
                guard let cap = Int(raw), cap >= 1, cap <= 10_000 else {
                    throw ConfigError("\(config.location(of: "model_label_cap")): expected a whole number from 1 to 10000")
                }
                c.modelLabelCap = cap
            }
        }
        c.deadlines = try DeadlinePolicy.settings(from: config)
        c.apiKey = environment["KIE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        c.callbackSecret = environment["KIE_CALLBACK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        c.webhookHMACKey = environment["KIE_WEBHOOK_HMAC_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return c
    }
}
