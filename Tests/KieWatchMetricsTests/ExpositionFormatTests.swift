import Testing
import KieWatchMetrics

struct ExpositionFormatTests {
    @Test(arguments: [
        // What Prometheus 2.x sends by default.
        "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
            + "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        "application/openmetrics-text",
        "Application/OpenMetrics-Text; Version=1.0.0",
        "text/plain;q=0.5, application/openmetrics-text;q=0.9",
    ])
    func openMetricsWhenAskedFor(accept: String) {
        #expect(ExpositionFormat.negotiate(accept: accept) == .openMetrics)
    }

    @Test(arguments: [
        nil, "", "*/*", "text/plain", "text/plain; version=0.0.4",
        "application/openmetrics-text;q=0",
        "text/plain;q=1, application/openmetrics-text;q=0.5",
        "application/openmetrics-text; version=2.0.0",
        "application/json",
        "garbage;;;,,,",
    ] as [String?])
    func prometheusTextOtherwise(accept: String?) {
        #expect(ExpositionFormat.negotiate(accept: accept) == .prometheusText)
    }

    @Test func contentTypes() {
        #expect(ExpositionFormat.prometheusText.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType
                == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }
}
