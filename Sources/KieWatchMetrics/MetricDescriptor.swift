/// The kind of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case histogram
}

/// A family's identity and metadata, validated once and pre-rendered for both formats.
///
/// The `# HELP`/`# TYPE`/`# UNIT` header bytes are built here at registration so a scrape
/// only copies them.
struct MetricDescriptor: Sendable {
    /// The registered name: what Prometheus text calls the family (`x_requests_total`).
    let name: String
    let help: String
    let type: MetricType
    let unit: String?
    let labelNames: [String]
    /// The OpenMetrics family name: a counter's name without `_total`.
    let openMetricsName: String
    let prometheusHeader: [UInt8]
    let openMetricsHeader: [UInt8]

    /// Validates the metadata; a bad name is a programming error, so it traps with the reason.
    init(name: String, help: String, type: MetricType, unit: String?, labelNames: [String]) {
        precondition(ExpositionText.isValidMetricName(name), "invalid metric name \"\(name)\"")
        for label in labelNames {
            precondition(ExpositionText.isValidLabelName(label), "\(name): invalid label name \"\(label)\"")
        }
        precondition(Set(labelNames).count == labelNames.count, "\(name): duplicate label names \(labelNames)")
        if type == .histogram {
            precondition(!labelNames.contains("le"), "\(name): a histogram cannot have an \"le\" label")
        }
        if type == .counter {
            // OpenMetrics requires the `_total` sample suffix; requiring it on the registered
            // name keeps the sample name identical in both formats.
            precondition(name.hasSuffix("_total") && name.count > 6, "\(name): a counter's name must end in _total")
        }
        let openMetricsName = type == .counter ? String(name.dropLast(6)) : name
        if let unit {
            precondition(ExpositionText.isValidLabelName(unit) && openMetricsName.hasSuffix("_" + unit),
                         "\(name): OpenMetrics requires the family name to end in _\(unit)")
        }
        self.name = name
        self.help = help
        self.type = type
        self.unit = unit
        self.labelNames = labelNames
        self.openMetricsName = openMetricsName

        var text: [UInt8] = []
        if !help.isEmpty {
            text.append(contentsOf: "# HELP \(name) ".utf8)
            ExpositionText.appendEscaped(help, quotes: false, to: &text)
            text.append(UInt8(ascii: "\n"))
        }
        text.append(contentsOf: "# TYPE \(name) \(type.rawValue)\n".utf8)
        prometheusHeader = text

        var open: [UInt8] = Array("# TYPE \(openMetricsName) \(type.rawValue)\n".utf8)
        if let unit { open.append(contentsOf: "# UNIT \(openMetricsName) \(unit)\n".utf8) }
        if !help.isEmpty {
            open.append(contentsOf: "# HELP \(openMetricsName) ".utf8)
            ExpositionText.appendEscaped(help, quotes: true, to: &open)
            open.append(UInt8(ascii: "\n"))
        }
        openMetricsHeader = open
    }

    /// Every sample name this family can emit in either format, so the registry can refuse
    /// a second family whose samples would collide with ours (`x` gauge vs `x_total` counter,
    /// `x_count` gauge vs `x` histogram).
    var claimedNames: [String] {
        switch type {
        case .counter: [name, openMetricsName, openMetricsName + "_created"]
        case .gauge: [name]
        case .histogram: ["", "_bucket", "_sum", "_count", "_created"].map { name + $0 }
        }
    }

    func header(for format: ExpositionFormat) -> [UInt8] {
        format == .openMetrics ? openMetricsHeader : prometheusHeader
    }

    /// `name="value",...` for a new series of this family.
    func labelPairs(for labelValues: [String]) -> [UInt8] {
        var pairs: [UInt8] = []
        ExpositionText.appendLabelPairs(names: labelNames, values: labelValues, to: &pairs)
        return pairs
    }
}
