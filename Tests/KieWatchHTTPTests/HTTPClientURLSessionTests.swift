import Foundation
import KieWatchCore
import KieWatchTestSupport
import Synchronization
import Testing

@testable import KieWatchHTTP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `URLSessionTransport` maps to the same errors as the socket client; `HTTPClientRouter` picks by scheme.
@Suite struct HTTPClientURLSessionTests {
    private func error(_ transport: any HTTPTransport, _ request: HTTPClientRequest, timeout: Duration) async
        -> HTTPClientError?
    {
        do {
            _ = try await transport.send(request, timeout: timeout)
            return nil
        } catch {
            return error
        }
    }

    @Test func roundTripOverPlainHTTP() async throws {
        let server = try RawTCPServer.keepAlive { head, body in
            RawTCPServer.response(
                status: head.hasPrefix("POST /p ") ? 200 : 400, body: String(decoding: body, as: UTF8.self),
                headers: ["X-Seen: yes"])
        }
        defer { server.stop() }
        let r = try await URLSessionTransport().send(
            HTTPClientRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/p", body: Array("hello".utf8)),
            timeout: .seconds(10))
        #expect(r.status == 200)
        #expect(r.body == Array("hello".utf8))
        #expect(r.headers["x-seen"] == "yes")
    }

    /// The URL handed to URLSession has no user info; the credentials go in the header, as
    /// over the socket client.
    @Test func userInfoIsSentAsBasicAuthorization() async throws {
        let server = try RawTCPServer.keepAlive { head, _ in
            let authorization = head.split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("authorization:") }
                .map { String($0.dropFirst("authorization:".count)).trimmingCharacters(in: .whitespaces) } ?? "none"
            return RawTCPServer.response(body: authorization)
        }
        defer { server.stop() }
        let r = try await URLSessionTransport().send(
            HTTPClientRequest(method: "POST", url: "http://app%20user:p%40ss@127.0.0.1:\(server.port)/cb", body: [1]),
            timeout: .seconds(10))
        #expect(String(decoding: r.body, as: UTF8.self) == "Basic " + Base64.encode(Array("app user:p@ss".utf8)))
    }

    @Test func refusedAndTimeoutMapLikeTheSocketClient() async throws {
        let refusing = RawTCPServer.RefusingPort()
        let port = refusing.port
        let refused = await error(
            URLSessionTransport(), try HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(10))
        withExtendedLifetime(refusing) {}
        guard case .connectFailed = refused else {
            Issue.record("expected connectFailed, got \(String(describing: refused))")
            return
        }
        let silent = try RawTCPServer { connection in connection.stall() }
        defer { silent.stop() }
        let timedOut = await error(
            URLSessionTransport(), try HTTPClientRequest(url: "http://127.0.0.1:\(silent.port)/"),
            timeout: .milliseconds(300))
        #expect(timedOut == .timeout)
    }

    /// A stopping agent cancels its calls to Kie: cancelling the calling task ends a URLSession
    /// exchange with an upstream that never answers at once (`cancelled`), not at its timeout.
    @Test func cancellingTheCallerCancelsTheExchange() async throws {
        let silent = try RawTCPServer { connection in connection.stall() }
        defer { silent.stop() }
        let request = try HTTPClientRequest(url: "http://127.0.0.1:\(silent.port)/api/v1/chat/credit")
        let call = Task { await error(URLSessionTransport(), request, timeout: .seconds(600)) }
        try await waitUntil { silent.acceptedConnections == 1 }
        call.cancel()
        #expect(await call.value == .cancelled)
    }

    @Test func urlErrorMapping() {
        #expect(URLSessionTransport.map(URLError(.timedOut)) == .timeout)
        #expect(URLSessionTransport.map(URLError(.networkConnectionLost)) == .connectionReset)
        #expect(URLSessionTransport.map(URLError(.dataLengthExceedsMaximum)) == .responseTooLarge)
        guard case .connectFailed = URLSessionTransport.map(URLError(.cannotConnectToHost)) else {
            Issue.record("cannotConnectToHost")
            return
        }
        guard case .malformedResponse = URLSessionTransport.map(URLError(.badServerResponse)) else {
            Issue.record("badServerResponse")
            return
        }
    }

    /// A transport that answers with its name, to see where the router sent a request.
    private struct Named: HTTPTransport {
        let name: String
        func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
            .text(name)
        }
    }

    @Test func routerPicksTransportByScheme() async throws {
        let router = HTTPClientRouter(http: Named(name: "socket"), https: Named(name: "urlsession"))
        let plain = try await router.send(HTTPClientRequest(url: "http://127.0.0.1:1/"), timeout: .seconds(1))
        let tls = try await router.send(HTTPClientRequest(url: "https://api.kie.ai/"), timeout: .seconds(1))
        #expect(plain.body == Array("socket".utf8))
        #expect(tls.body == Array("urlsession".utf8))
        #expect(HTTPClient.forURL(try HTTPClientURL("http://h/")) is HTTPClient)
        #expect(HTTPClient.forURL(try HTTPClientURL("https://h/")) is URLSessionTransport)
    }
}
