import KieWatchCore
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

    /// User info (apps put it in callBackUrl) is percent-decoded into credentials and never
    /// shows in `description`.
    @Test func parsesUserInfoIntoCredentials() throws {
        let a = try HTTPClientURL("http://app%20user:p%40ss:w%zz@h:81/cb?x=1")
        #expect(a.credentials == .init(user: "app user", password: "p@ss:w%zz"))
        #expect(a.host == "h" && a.port == 81 && a.pathAndQuery == "/cb?x=1")
        #expect(a.description == "http://h:81/cb?x=1")
        #expect(try HTTPClientURL("https://u@[::1]/").credentials == .init(user: "u", password: ""))
        #expect(try HTTPClientURL("https://u:@h").credentials == .init(user: "u", password: ""))
        #expect(try HTTPClientURL("https://h/a@b").credentials == nil)
    }

    @Test(arguments: [
        "", "http://", "http:///x", "http://h:0/", "http://h:99999/", "http://h /", "localhost:80", "http://[::1/",
        "http://u:p@/", "http://a%3Ab:p@h/", "http://u:p@h:x/",
    ])
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

    @Test func userInfoIsSentAsBasicAuthorizationUnlessTheRequestHasItsOwn() throws {
        let request = try HTTPClientRequest(method: "POST", url: "http://app%20user:p%40ss@h/cb", body: Array("{}".utf8))
        let expected = "Basic " + Base64.encode(Array("app user:p@ss".utf8))
        #expect(request.basicAuthorization == expected)
        #expect(String(decoding: try request.serialized(), as: UTF8.self)
            == "POST /cb HTTP/1.1\r\nAuthorization: \(expected)\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}")
        let own = try HTTPClientRequest(url: "http://u:p@h/", headers: ["authorization": "Bearer t"])
        #expect(own.basicAuthorization == nil)
        #expect(String(decoding: try own.serialized(), as: UTF8.self) == "GET / HTTP/1.1\r\nauthorization: Bearer t\r\nHost: h\r\n\r\n")
        #expect(try HTTPClientRequest(url: "http://h/").basicAuthorization == nil)
    }

    /// An error is logged and stored: the URL it quotes loses its password and secret.
    @Test func errorsNeverShowUserInfoOrSecrets() {
        do {
            _ = try HTTPClientURL("http://appuser:PASS@127.0.0.1:99999/cb?secret=APPSECRET")
            Issue.record("accepted port 99999")
        } catch {
            #expect(error.isPermanent)
            #expect(error.description == "invalid URL: http://REDACTED@127.0.0.1:99999/cb?secret=REDACTED")
        }
        let quoted = HTTPClientError.connectFailed(errno: 0, message: "cannot reach http://u:PASS@h/?token=T")
        #expect(quoted.description == "connect failed: cannot reach http://REDACTED@h/?token=REDACTED")
        #expect(!quoted.isPermanent && !HTTPClientError.timeout.isPermanent)
        #expect(HTTPClientError.unsupportedScheme("ftp").isPermanent)
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
