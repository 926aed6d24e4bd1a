/// One option a command accepts: `--name VALUE` (or `--name=VALUE`), or a boolean `--name`.
public struct OptionSpec: Sendable {
    public var name: String
    public var short: String?
    public var takesValue: Bool
    public var repeatable: Bool
    public var environment: String?
    public var valueName: String
    public var help: String
    public var defaultDescription: String?

    public init(
        _ name: String, short: String? = nil, value valueName: String? = nil, repeatable: Bool = false,
        env environment: String? = nil, default defaultDescription: String? = nil, help: String
    ) {
        self.name = name
        self.short = short
        self.takesValue = valueName != nil
        self.repeatable = repeatable
        self.environment = environment
        self.valueName = valueName ?? ""
        self.help = help
        self.defaultDescription = defaultDescription
    }
}

/// The parsed command line of one subcommand, with the rule every setting follows:
/// flag, then environment variable, then config file, then the default.
public struct CommandLineOptions: Sendable {
    public private(set) var values: [String: [String]] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []
    public let specs: [OptionSpec]

    /// Parses `arguments` (without the program and subcommand names). `--` ends the options.
    public init(_ arguments: [String], specs: [OptionSpec]) throws(ConfigError) {
        self.specs = specs
        var i = 0
        var optionsEnded = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if optionsEnded || !arg.hasPrefix("-") || arg == "-" {
                positionals.append(arg)
                continue
            }
            if arg == "--" {
                optionsEnded = true
                continue
            }
            var name = arg
            var inlineValue: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inlineValue = String(arg[arg.index(after: eq)...])
            }
            guard let spec = specs.first(where: { $0.name == name || $0.short == name }) else {
                throw ConfigError("\(name): unknown option (see --help)")
            }
            if spec.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard i < arguments.count else {
                        throw ConfigError("\(spec.name): expects a value (\(spec.valueName))")
                    }
                    value = arguments[i]
                    i += 1
                }
                if !spec.repeatable, values[spec.name] != nil {
                    throw ConfigError("\(spec.name): given more than once")
                }
                values[spec.name, default: []].append(value)
            } else {
                guard inlineValue == nil else { throw ConfigError("\(spec.name): takes no value") }
                flags.insert(spec.name)
            }
        }
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// The flag's value, or its environment variable's, or the config file's key, or nil.
    /// Returns the value with the place it came from, for error messages.
    public func lookup(
        _ name: String, environment: [String: String] = [:], config: ConfigFile? = nil, configKey: String? = nil
    ) -> (value: String, source: String)? {
        if let v = values[name]?.last { return (v, name) }
        if let spec = specs.first(where: { $0.name == name }), let env = spec.environment,
            let v = environment[env], !v.isEmpty
        {
            return (v, env)
        }
        if let config, let key = configKey, let v = config[key] { return (v, config.location(of: key)) }
        return nil
    }

    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// Usage text: one line per option with its environment variable and default.
    public static func help(for specs: [OptionSpec]) -> String {
        var lines: [String] = []
        for spec in specs {
            var head = "  " + spec.name
            if let short = spec.short { head = "  \(short), \(spec.name)" }
            if spec.takesValue { head += " \(spec.valueName)" }
            var text = spec.help
            if let env = spec.environment { text += " [env \(env)]" }
            if let d = spec.defaultDescription { text += " (default \(d))" }
            let pad = max(1, 30 - head.count)
            lines.append(head + String(repeating: " ", count: pad) + text)
        }
        return lines.joined(separator: "\n")
    }
}

/// `HOST:PORT` as used by `--listen`; IPv6 hosts in brackets (`[::1]:9464`).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func parse(_ text: String, for name: String) throws(ConfigError) -> HostPort {
        let expected = "\(name): expected HOST:PORT such as 127.0.0.1:9464, got '\(text)'"
        guard let colon = text.lastIndex(of: ":") else { throw ConfigError(expected) }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigError(expected)
        }
        if host.isEmpty { host = "0.0.0.0" }
        return HostPort(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A base URL setting (`--upstream`, `--public-url`): scheme http or https, no trailing slash.
public func parseBaseURL(_ text: String, for name: String) throws(ConfigError) -> String {
    let lower = text.lowercased()
    guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), text.count > 8 else {
        throw ConfigError("\(name): expected an http:// or https:// URL, got '\(text)'")
    }
    guard !text.contains(" ") else { throw ConfigError("\(name): a URL cannot contain spaces") }
    var url = text
    while url.hasSuffix("/") { url.removeLast() }
    return url
}
