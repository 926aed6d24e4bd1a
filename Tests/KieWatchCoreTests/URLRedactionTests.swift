import KieWatchCore
import Synchronization
import Testing

@Suite struct URLRedactionTests {
    @Test func redactsSecretsAndUserinfo() {
        #expect(URLRedaction.redact("https://app.example/hook?secret=s3cr3t&id=4") == "https://app.example/hook?secret=REDACTED&id=4")
        #expect(URLRedaction.redact("https://u:p@app.example/hook?api_key=k#frag") == "https://REDACTED@app.example/hook?api_key=REDACTED#frag")
        #expect(URLRedaction.redact("http://agent/webhooks/kie?Token=abc&X-Sig=1") == "http://agent/webhooks/kie?Token=REDACTED&X-Sig=1")
        #expect(URLRedaction.redact("https://app.example/plain") == "https://app.example/plain")
        #expect(URLRedaction.redact("/api/v1/jobs/recordInfo?taskId=abc") == "/api/v1/jobs/recordInfo?taskId=abc")
    }
}


/// Free text that quotes a URL (an error message, a log value) loses the URL's password and
/// secret-named values wherever the URL sits.
@Suite struct URLRedactionInTextTests {
    @Test(arguments: [
        ("invalid URL: http://appuser:PASS@127.0.0.1:1/cb?secret=APPSECRET",
         "invalid URL: http://REDACTED@127.0.0.1:1/cb?secret=REDACTED"),
        ("relay to \"https://u:p@app/cb?a=1&api_key=K\" failed", "relay to \"https://REDACTED@app/cb?a=1&api_key=REDACTED\" failed"),
        ("http://u:pa/ss@app/cb", "http://REDACTED@app/cb"),
        ("next=http://u:p@other/ and password=hunter2 here", "next=http://REDACTED@other/ and password=REDACTED here"),
        (#"{\"callBackUrl\":\"https://agent/webhooks/kie?secret=abc\"}"#, #"{\"callBackUrl\":\"https://agent/webhooks/kie?secret=REDACTED\"}"#),
        ("a@b.c wrote x=1 at http://host/p?q=1#f", "a@b.c wrote x=1 at http://host/p?q=1#f"),
        ("http://h/?secret=REDACTED", "http://h/?secret=REDACTED"),
        ("token=", "token="),
        ("x://y://u:p@h/?a=1&b=2&secret=3", "x://REDACTED@h/?a=1&b=2&secret=REDACTED"),
        ("api_key=http://u:p@h/ next", "api_key=REDACTED next"),
    ])
    func redactsURLsInsideText(text: String, expected: String) {
        #expect(URLRedaction.redact(text) == expected)
    }

    @Test func theLoggerRedactsEveryValue() {
        let lines = LinesSink()
        let logger = Logger(minimum: .debug, sink: { lines.append($0) })
        logger.warn("relay.failed", ["error": "invalid URL: http://appuser:PASS@h/cb?secret=APPSECRET"])
        #expect(lines.all.count == 1)
        #expect(lines.all[0].hasSuffix(#"error="invalid URL: http://REDACTED@h/cb?secret=REDACTED""#))
    }
}

final class LinesSink: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
