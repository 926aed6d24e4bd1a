import Testing

@testable import KieWatchHTTP

/// What the proxy asks of an app's callBackUrl before it accepts the create: whatever the
/// relay could never deliver to is refused, with a message that shows no password or secret.
@Suite struct CallbackURLCheckTests {
    @Test(arguments: [
        "https://app.example/hooks/kie?secret=s", "http://127.0.0.1:8080/cb", "http://user:pass@app/cb",
        "https://u%40x:p%2Fq@[::1]:9443/cb#frag",
    ])
    func deliverableURLsPass(url: String) {
        #expect(CallbackURLCheck.problem(url) == nil)
    }

    @Test(arguments: [
        ("ftp://app/cb", "kiewatch: callBackUrl must be an http:// or https:// URL, not ftp://"),
        ("app.example/cb", "kiewatch: callBackUrl is not a URL the agent can deliver callbacks to (absolute http(s) URL with a host and no spaces): app.example/cb"),
        ("http://appuser:PASS@app:99999/cb?secret=APPSECRET", "kiewatch: callBackUrl is not a URL the agent can deliver callbacks to (absolute http(s) URL with a host and no spaces): http://REDACTED@app:99999/cb?secret=REDACTED"),
        ("http://a%3Ab:PASS@app/cb", "kiewatch: callBackUrl is not a URL the agent can deliver callbacks to (absolute http(s) URL with a host and no spaces): http://REDACTED@app/cb"),
        ("http://app/c b", "kiewatch: callBackUrl is not a URL the agent can deliver callbacks to (absolute http(s) URL with a host and no spaces): http://app/c b"),
    ])
    func undeliverableURLsAreRefusedWithAClearRedactedMessage(url: String, message: String) {
        #expect(CallbackURLCheck.problem(url) == message)
    }
}
