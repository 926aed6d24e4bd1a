import KieWatchCore

/// An HTTP response with its whole body, or with a body produced while it is sent
/// (`bodyStream`). The server adds `Content-Length` (or chunked framing), `Date`-free, and
/// `Connection` itself.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// The body; with a `bodyStream`, the bytes sent before the stream's chunks.
    public var body: [UInt8]
    /// The rest of the body, sent chunk by chunk as it is produced (see `HTTPBodyStream`).
    public var bodyStream: HTTPBodyStream?

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], bodyStream: HTTPBodyStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyStream = bodyStream
    }

    public init(status: Int, contentType: String, body: String) {
        self.init(status: status, headers: ["Content-Type": contentType], body: Array(body.utf8))
    }

    /// Not an answer: the server resets the connection without writing anything (status 0).
    /// The simulator uses it to play an upstream that drops connections.
    public static let abortConnection = HTTPResponse(status: 0)

    /// A JSON answer.
    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: ["Content-Type": "application/json"], body: value.serializedBytes())
    }

    /// A Kie-shaped error envelope `{"code":N,"msg":"..."}` with HTTP status `status`.
    public static func kieError(code: Int, msg: String, status: Int) -> HTTPResponse {
        .json(["code": .int(Int64(code)), "msg": .string(msg), "data": nil], status: status)
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: text)
    }

    /// The standard reason phrase for a status code.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}

/// The one extension point of the server: a request in, a response out.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest) async -> HTTPResponse

    /// The path for hot requests whose only wait is a completion callback (a group commit):
    /// called first, on the event loop thread. Return false (the default) and `handle` runs in
    /// a task; return true and answer exactly once through `responder`, from any thread, later
    /// or at once. It must not block: everything it does holds up the loop's other connections.
    func handleInline(_ request: HTTPRequest, responder: InlineResponder) -> Bool
}

extension HTTPHandler {
    public func handleInline(_ request: HTTPRequest, responder: InlineResponder) -> Bool { false }
}

/// How an inline handler answers: from any thread, exactly once, and the connection's event
/// loop does the rest. `respond(after:)` moves the handler's own follow-up work (metrics,
/// logs) onto the loop too, so the thread that completed the request (the store writer)
/// goes straight back to its queue.
public struct InlineResponder: Sendable {
    private let deliver: @Sendable (@escaping @Sendable () -> HTTPResponse) -> Void

    package init(deliver: @escaping @Sendable (@escaping @Sendable () -> HTTPResponse) -> Void) {
        self.deliver = deliver
    }

    public func respond(_ response: HTTPResponse) { deliver { response } }

    /// Runs `work` on the connection's event loop and sends the response it returns.
    public func respond(after work: @escaping @Sendable () -> HTTPResponse) { deliver(work) }
}

/// A handler made from a closure (tests, small servers).
public struct ClosureHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest) async -> HTTPResponse
    public init(_ body: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) { self.body = body }
    public func handle(_ request: HTTPRequest) async -> HTTPResponse { await body(request) }
}
