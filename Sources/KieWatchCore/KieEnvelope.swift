/// Kie's answer envelope `{"code": N, "msg": "...", "data": ...}`: the body code, not the HTTP
/// status, says whether a call worked.
public struct KieEnvelope: Sendable, Equatable {
    /// The body code; nil when the body had none (a proxy error page, an empty body).
    public var code: Int?
    /// `msg`, or `message` in the answers that spell it that way.
    public var message: String?
    public var data: JSONValue

    public init(code: Int?, message: String?, data: JSONValue = .null) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// Reads an envelope from a parsed JSON body; nil when the body is not a JSON object.
    public init?(json: JSONValue) {
        guard case .object = json else { return nil }
        code = json["code"]?.intValue.flatMap { Int(exactly: $0) }
        message = json.first("msg", "message")?.stringValue
        data = json["data"] ?? .null
    }

    /// Reads an envelope from raw body bytes; nil when they are not a JSON object.
    public init?(body: some Collection<UInt8>) {
        guard !body.isEmpty, let json = try? JSONValue.parse(body) else { return nil }
        self.init(json: json)
    }

    /// `{"code":N,"msg":"...","data":...}`, the shape kiewatch answers in when it speaks for Kie.
    public var json: JSONValue {
        ["code": code.map { .int(Int64($0)) } ?? .null, "msg": JSONValue(message), "data": data]
    }
}
