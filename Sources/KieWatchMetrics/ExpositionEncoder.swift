/// Builds one exposition in a byte buffer.
///
/// Series hand it pre-rendered `name{labels} ` prefixes and it appends only values, so a
/// scrape is mostly `memcpy` plus number formatting.
struct ExpositionEncoder {
    let format: ExpositionFormat
    private(set) var bytes: [UInt8]

    init(format: ExpositionFormat, capacity: Int) {
        self.format = format
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// Appends pre-rendered bytes a series keeps in one buffer (one buffer per series keeps
    /// reference counting out of the per-line work).
    mutating func append(_ raw: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    mutating func appendHeader(_ descriptor: MetricDescriptor) {
        bytes.append(contentsOf: descriptor.header(for: format))
    }

    /// `prefix value\n`; the prefix already ends with the separating space.
    mutating func appendSample(_ prefix: [UInt8], _ value: Double) {
        bytes.append(contentsOf: prefix)
        ExpositionText.appendValue(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func appendSample(_ prefix: UnsafeBufferPointer<UInt8>, _ value: Double) {
        bytes.append(contentsOf: prefix)
        ExpositionText.appendValue(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `prefix timestamp\n`, for `_created` samples.
    mutating func appendSample(_ prefix: UnsafeBufferPointer<UInt8>, timestamp: Double) {
        bytes.append(contentsOf: prefix)
        ExpositionText.appendTimestamp(timestamp, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `start end count` without the newline, so an exemplar can follow on the same line.
    mutating func appendCountWithoutNewline(_ start: UnsafeBufferPointer<UInt8>, _ end: UnsafeBufferPointer<UInt8>,
                                            _ count: UInt64) {
        bytes.append(contentsOf: start)
        bytes.append(contentsOf: end)
        ExpositionText.appendInteger(count, to: &bytes)
    }

    mutating func appendSample(_ prefix: UnsafeBufferPointer<UInt8>, count: UInt64) {
        bytes.append(contentsOf: prefix)
        ExpositionText.appendInteger(count, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// ` # {labels} value timestamp`, the OpenMetrics exemplar suffix of a sample line.
    mutating func appendExemplar(_ exemplar: Exemplar) {
        bytes.append(contentsOf: " # ".utf8)
        exemplar.appendLabels(to: &bytes)
        bytes.append(UInt8(ascii: " "))
        ExpositionText.appendValue(exemplar.value, to: &bytes)
        bytes.append(UInt8(ascii: " "))
        ExpositionText.appendTimestamp(exemplar.timestamp, to: &bytes)
    }

    mutating func appendNewline() {
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Ends the exposition: OpenMetrics requires the `# EOF` line, text 0.0.4 has none.
    mutating func finish() {
        if format == .openMetrics { bytes.append(contentsOf: "# EOF\n".utf8) }
    }
}
