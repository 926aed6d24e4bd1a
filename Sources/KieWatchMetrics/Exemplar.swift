/// One observation kept as an example for a histogram bucket (OpenMetrics exemplars).
///
/// Exemplars let a dashboard jump from a slow bucket to the task that landed in it
/// (`task_id`). Their labels are rendered once when recorded, as `{name="value",...}`.
struct Exemplar: Sendable {
    /// OpenMetrics caps the label names and values of an exemplar at 128 code points.
    static let maximumLabelCharacters = 128

    let renderedLabels: [UInt8]
    let value: Double
    let timestamp: Double

    /// Nil when the labels exceed the OpenMetrics limit or use an invalid name: a bad
    /// exemplar must never fail the observation it rides on, so it is dropped instead.
    init?(labels: KeyValuePairs<String, String>, value: Double, timestamp: Double) {
        var characters = 0
        for (name, labelValue) in labels {
            guard ExpositionText.isValidLabelName(name) else { return nil }
            characters += name.unicodeScalars.count + labelValue.unicodeScalars.count
        }
        guard characters <= Self.maximumLabelCharacters else { return nil }
        var rendered: [UInt8] = [UInt8(ascii: "{")]
        ExpositionText.appendLabelPairs(names: labels.map(\.key), values: labels.map(\.value), to: &rendered)
        rendered.append(UInt8(ascii: "}"))
        renderedLabels = rendered
        self.value = value
        self.timestamp = timestamp
    }
}
