/// The latest observation kept for one histogram bucket, with the labels that link it to
/// something concrete (e.g. `task_id`). Only OpenMetrics exposes exemplars.
///
/// The labels are checked when observed (so a bad one never replaces a good one) but only
/// rendered when scraped: an observation on a hot path costs a copy, not an encoding.
struct Exemplar: Sendable {
    /// OpenMetrics caps the label names and values of an exemplar at 128 code points.
    static let maximumLabelCharacters = 128

    let labels: KeyValuePairs<String, String>
    let value: Double
    let timestamp: Double

    /// Nil when the labels exceed the OpenMetrics limit or use an invalid name: a bad
    /// exemplar must never fail the observation it rides on, so it is dropped instead.
    init?(labels: KeyValuePairs<String, String>, value: Double, timestamp: Double) {
        var bytes = 0
        for (name, labelValue) in labels {
            guard ExpositionText.isValidLabelName(name) else { return nil }
            bytes += name.utf8.count + labelValue.utf8.count
        }
        // UTF-8 bytes bound the code points from above; count those only when it matters.
        if bytes > Self.maximumLabelCharacters {
            let characters = labels.reduce(0) { $0 + $1.key.unicodeScalars.count + $1.value.unicodeScalars.count }
            guard characters <= Self.maximumLabelCharacters else { return nil }
        }
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }

    /// `{name="value",...}`, escaped as label values are.
    func appendLabels(to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        ExpositionText.appendLabelPairs(names: labels.map(\.key), values: labels.map(\.value), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}
