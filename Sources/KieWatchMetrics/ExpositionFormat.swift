/// The two text formats `/metrics` can answer with.
///
/// Prometheus text 0.0.4 is the default every scraper understands; OpenMetrics 1.0 adds
/// `_created` samples, units and exemplars, so we only speak it to a client that asks.
public enum ExpositionFormat: Sendable, Hashable {
    case prometheusText
    case openMetrics

    /// The `Content-Type` header value for a response in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format for a scrape from its `Accept` header.
    ///
    /// OpenMetrics is chosen only when the header names `application/openmetrics-text`
    /// (version absent, `1.0.0`, or the pre-release `0.0.1` Prometheus still offers) with a
    /// quality that is positive and not below what the header gives plain text. Everything
    /// else, including a missing or malformed header, gets Prometheus text: it is the one
    /// format every client can parse.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .prometheusText }
        var openMetricsQuality = -1.0
        var textQuality = -1.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map {
                $0.trimmingASCII(" \t").lowercased()
            }
            guard let mediaType = parts.first, !mediaType.isEmpty else { continue }
            var quality = 1.0
            var version: String?
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingASCII(" \t\"")
                }
                guard pair.count == 2 else { continue }
                switch pair[0] {
                case "q": quality = Double(pair[1]).map { min(max($0, 0), 1) } ?? 0
                case "version": version = pair[1]
                default: break
                }
            }
            switch mediaType {
            case "application/openmetrics-text":
                if version == nil || version == "1.0.0" || version == "0.0.1" {
                    openMetricsQuality = max(openMetricsQuality, quality)
                }
            case "text/plain", "text/*", "*/*":
                textQuality = max(textQuality, quality)
            default:
                break
            }
        }
        return openMetricsQuality > 0 && openMetricsQuality >= textQuality ? .openMetrics : .prometheusText
    }
}

extension StringProtocol {
    /// Trims the given ASCII characters from both ends (Foundation-free).
    func trimmingASCII(_ set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars[...]
        while let first = view.first, scalars.contains(first) { view = view.dropFirst() }
        while let last = view.last, scalars.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
