import KieWatchCore
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

