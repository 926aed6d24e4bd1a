import KieWatchCore
import KieWatchHTTP
import KieWatchMetrics

/// Routes the agent's HTTP paths: its own (each family's webhook path, `/webhooks/kie`,
/// `/webhooks/veo`, `/webhooks/runway`, ..., alone or followed by `/<token>`, the callback
/// route named at create, to the receiver;
/// `/metrics`, `/healthz`, `/readyz`) are answered here, every other path goes to the proxy,
/// whatever its method: Kie serves more than `/api/` on its host (chat APIs such as
/// `/claude/v1/messages`), and an app whose one Kie base URL points at the agent sends them
/// all here.
public struct AgentRouter: HTTPHandler {
    let context: AgentContext
    let proxy: ProxyHandler
    let webhooks: WebhookReceiver

    init(context: AgentContext) {
        self.context = context
        proxy = ProxyHandler(context: context)
        webhooks = WebhookReceiver(context: context)
    }

    /// Webhook deliveries are answered from the event loop and the writer thread, without a
    /// task each: at thousands per second the hops through the task pool cost more than the
    /// work. This is their only path; everything else goes to `handle`.
    public func handleInline(_ request: HTTPRequest, responder: InlineResponder) -> Bool {
        guard request.method == "POST", let target = Self.webhookTarget(request.path) else { return false }
        webhooks.receive(request, family: target.family, token: target.token, responder: responder)
        return true
    }

    /// A family's webhook path (`/webhooks/kie` and `/webhooks/veo` alone are the paths of
    /// tasks created before callback routes), or it followed by `/<token>`: the family, and the
    /// route's token if there is one.
    static func webhookTarget(_ path: Substring) -> (family: TaskFamily, token: String?)? {
        // Every proxied call is asked too: one compare before the table's paths.
        guard path.hasPrefix("/webhooks/") else { return nil }
        for family in TaskFamily.allCases {
            let base = family.webhookPath
            guard path.hasPrefix(base) else { continue }
            let rest = path.utf8.dropFirst(base.utf8.count)
            if rest.isEmpty { return (family, nil) }
            guard rest.first == UInt8(ascii: "/") else { continue }
            let token = Substring(rest.dropFirst())
            return CallbackToken.isWellFormed(token) ? (family, String(token)) : nil
        }
        return nil
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        if Self.webhookTarget(path) != nil {
            guard request.method == "POST" else { return methodNotAllowed("POST") }
            // The server offers every request to `handleInline` first, which takes these.
            return .kieError(code: 500, msg: "kiewatch: webhook deliveries are answered inline only", status: 500)
        }
        switch path {
        case "/metrics":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed("GET") }
            let format = ExpositionFormat.negotiate(accept: request.headers["Accept"])
            return HTTPResponse(
                status: 200, headers: ["Content-Type": format.contentType],
                body: context.metrics.registry.render(format))
        case "/healthz":
            return .text("ok\n")
        case "/readyz":
            return await readiness()
        case _ where path == "/webhooks" || path.hasPrefix("/webhooks/"):
            // The agent's namespace: a malformed token is no Kie path either.
            return .kieError(
                code: 404, msg: "kiewatch: no such webhook path; Kie calls back to /webhooks/<family>[/<token>]", status: 404)
        case _ where !path.hasPrefix("/"):
            // `*` or an absolute URL names nothing on Kie's host.
            return .kieError(code: 404, msg: "kiewatch: no such path; the request target must be a path", status: 404)
        default:
            return await proxy.handle(request)
        }
    }

    /// Ready when a write commits: a full disk or a broken file shows here first.
    private func readiness() async -> HTTPResponse {
        let now = context.clock.now()
        do {
            try await context.writer.write { ctx in try ctx.setMeta("ready_probe_at", String(now)) }
            return .text("ready\n")
        } catch {
            context.storeFailed("readiness_probe", error)
            return .text("not ready: the store cannot commit (\(error))\n", status: 503)
        }
    }

    private func methodNotAllowed(_ allowed: String) -> HTTPResponse {
        var response = HTTPResponse.kieError(code: 405, msg: "method not allowed; use \(allowed)", status: 405)
        response.headers.add("Allow", allowed)
        return response
    }
}
