import Testing

@testable import KieWatchHTTP

@Suite struct HTTPClientRequestTests {
    @Test func parsesURLs() throws {
        let a = try HTTPClientURL("http://127.0.0.1:8080/api/v1/jobs/createTask?x=1#frag")
        #expect(a.scheme == .http && a.host == "127.0.0.1" && a.port == 8080)
        #expect(a.pathAndQuery == "/api/v1/jobs/createTask?x=1")
        let b = try HTTPClientURL("HTTPS://api.kie.ai")
        #expect(b.scheme == .https && b.port == 443 && b.pathAndQuery == "/")
        let c = try HTTPClientURL("http://[::1]:9464?q=2")
        #expect(c.host == "::1" && c.port == 9464 && c.pathAndQuery == "/?q=2")
        #expect(c.hostHeader == "[::1]:9464")
        #expect(c.description == "http://[::1]:9464/?q=2")
    }

    @Test(arguments: ["", "http://", "http:///x", "http://h:0/", "http://h:99999/", "http://u@h/", "http://h /", "localhost:80", "http://[::1/"])
    func rejectsInvalidURLs(text: String) {
        #expect(throws: HTTPClientError.self) { try HTTPClientURL(text) }
        do {
            _ = try HTTPClientURL(text)
        } catch {
            guard case .invalidURL = error else {
                Issue.record("expected invalidURL, got \(error)")
                return
            }
        }
    }

    @Test func rejectsUnsupportedScheme() {
        do {
            _ = try HTTPClientURL("ftp://example.com/")
            Issue.record("accepted ftp")
        } catch {
            #expect(error == .unsupportedScheme("ftp"))
        }
    }

    @Test func serializesWithHostAndLengthAndWithoutHopHeaders() throws {
        let request = try HTTPClientRequest(
            method: "POST", url: "http://localhost:8080/p?q",
            headers: ["Content-Type": "application/json", "Content-Length": "999", "Connection": "close"],
            body: Array("{}".utf8))
        let text = String(decoding: try request.serialized(), as: UTF8.self)
        #expect(
            text == "POST /p?q HTTP/1.1\r\nContent-Type: application/json\r\nHost: localhost:8080\r\nContent-Length: 2\r\n\r\n{}")
        let get = try HTTPClientRequest(url: "http://h/", headers: ["Host": "other"])
        #expect(String(decoding: try get.serialized(), as: UTF8.self) == "GET / HTTP/1.1\r\nHost: other\r\n\r\n")
    }

    @Test func refusesHeaderInjection() throws {
        let request = try HTTPClientRequest(url: "http://h/", headers: ["X-A": "a\r\nGET /evil HTTP/1.1"])
        #expect(throws: HTTPClientError.invalidRequest("header 'X-A' has a CR, LF or NUL in its value")) {
            try request.serialized()
        }
        let badName = try HTTPClientRequest(url: "http://h/", headers: ["X A": "a"])
        #expect(throws: HTTPClientError.self) { try badName.serialized() }
    }

    @Test func retryRule() throws {
        let post = try HTTPClientRequest(method: "POST", url: "http://h/")
        let get = try HTTPClientRequest(url: "http://h/")
        let allowed = try HTTPClientRequest(method: "POST", url: "http://h/", retryOnStaleConnection: true)
        func may(_ r: HTTPClientRequest, _ e: HTTPClientError, _ p: HTTPClientConnection.Phase) -> Bool {
            HTTPClient.mayResend(after: .init(error: e, phase: p), request: r)
        }
        // Writing failed: the server cannot hold the whole request, any method may go again.
        #expect(may(post, .connectionReset, .writing))
        // Written, then closed before any byte: only idempotent or explicitly allowed requests.
        #expect(!may(post, .connectionReset, .awaitingResponse))
        #expect(may(get, .connectionReset, .awaitingResponse))
        #expect(may(allowed, .connectionReset, .awaitingResponse))
        // Never after a response byte, never after a timeout.
        #expect(!may(get, .connectionReset, .readingResponse))
        #expect(!may(get, .timeout, .awaitingResponse))
    }
}
