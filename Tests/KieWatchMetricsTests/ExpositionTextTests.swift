import Testing
@testable import KieWatchMetrics

struct ExpositionTextTests {
    private func value(_ value: Double) -> String {
        var bytes: [UInt8] = []
        ExpositionText.appendValue(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func valuesAreIntegersWhenExactAndShortestOtherwise() {
        #expect(value(0) == "0")
        #expect(value(-0.0) == "0")
        #expect(value(7) == "7")
        #expect(value(-42) == "-42")
        #expect(value(1_234_567_890_123) == "1234567890123")
        #expect(value(9_007_199_254_740_991) == "9007199254740991")
        #expect(value(9_007_199_254_740_992) == "9007199254740992.0")  // past 2^53: float spelling
        #expect(value(0.5) == "0.5")
        #expect(value(1e-7) == "1e-07")
        #expect(value(1_700_000_000.123) == "1700000000.123")
        #expect(value(.nan) == "NaN")
        #expect(value(.infinity) == "+Inf")
        #expect(value(-.infinity) == "-Inf")
    }

    @Test func timestampsHaveMillisecondPrecision() {
        func timestamp(_ seconds: Double) -> String {
            var bytes: [UInt8] = []
            ExpositionText.appendTimestamp(seconds, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(timestamp(1_700_000_000) == "1700000000")
        #expect(timestamp(1_700_000_000.5) == "1700000000.5")
        #expect(timestamp(1_700_000_000.123) == "1700000000.123")
        #expect(timestamp(1_700_000_000.05) == "1700000000.05")
        #expect(timestamp(1_700_000_000.0004) == "1700000000")
        #expect(timestamp(1_700_000_000.9996) == "1700000001")
        #expect(timestamp(0.001) == "0.001")
        #expect(timestamp(-1.5) == "-1.5")
    }

    @Test func integersWithoutAllocation() {
        for number: UInt64 in [0, 9, 10, 99, 100, 12345, .max] {
            var bytes: [UInt8] = Array("x".utf8)
            ExpositionText.appendInteger(number, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x\(number)")
        }
    }

    @Test(arguments: [
        (0.0, "0", "0.0"), (0.001, "0.001", "0.001"), (0.005, "0.005", "0.005"), (0.0001, "0.0001", "0.0001"),
        (1e-5, "1e-05", "1e-05"), (1e-10, "1e-10", "1e-10"), (0.1, "0.1", "0.1"), (0.95, "0.95", "0.95"),
        (1, "1", "1.0"), (1.7, "1.7", "1.7"), (2.5, "2.5", "2.5"), (10, "10", "10.0"), (3600, "3600", "3600.0"),
        (100_000, "100000", "100000.0"), (1e6, "1e+06", "1e+06"), (1_234_567, "1.234567e+06", "1.234567e+06"),
        (1e10, "1e+10", "1e+10"), (.infinity, "+Inf", "+Inf"),
    ])
    func bucketBoundsFollowGoAndOpenMetricsCanonicalNumbers(bound: Double, text: String, openMetrics: String) {
        #expect(ExpositionText.canonicalBound(bound, openMetrics: false) == text)
        #expect(ExpositionText.canonicalBound(bound, openMetrics: true) == openMetrics)
    }

    @Test func escaping() {
        var label: [UInt8] = []
        ExpositionText.appendEscaped("a\\b\"c\nd", quotes: true, to: &label)
        #expect(String(decoding: label, as: UTF8.self) == #"a\\b\"c\nd"#)
        var help: [UInt8] = []
        ExpositionText.appendEscaped("a\\b\"c\nd", quotes: false, to: &help)
        #expect(String(decoding: help, as: UTF8.self) == #"a\\b"c\nd"#)
    }

    @Test func names() {
        #expect(ExpositionText.isValidMetricName("kiewatch:api_requests_total"))
        #expect(!ExpositionText.isValidMetricName("1abc"))
        #expect(!ExpositionText.isValidMetricName("a-b"))
        #expect(!ExpositionText.isValidMetricName(""))
        #expect(ExpositionText.isValidLabelName("model"))
        #expect(!ExpositionText.isValidLabelName("__name__"))
        #expect(!ExpositionText.isValidLabelName("a:b"))
    }
}
