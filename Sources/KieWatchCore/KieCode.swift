/// Kie's body codes with what they mean and what an on-call engineer does about each
/// (the codes Kie documents; the console's `errors` command prints the hint).
public struct KieCode: Sendable, Equatable {
    public var code: Int
    public var meaning: String
    public var hint: String

    public static let table: [KieCode] = [
        KieCode(code: 200, meaning: "ok", hint: "-"),
        KieCode(code: 400, meaning: "bad request (Veo: 1080p still processing)", hint: "fix the request, or wait for the 1080p video"),
        KieCode(code: 401, meaning: "unauthorized", hint: "check KIE_API_KEY"),
        KieCode(code: 402, meaning: "insufficient credits", hint: "top up credits"),
        KieCode(code: 404, meaning: "not found", hint: "check the path and the task id"),
        KieCode(code: 408, meaning: "no result for over 10 minutes: an upstream timeout, not the client's fault", hint: "Kie timed the task out, not the request's fault: create it again"),
        KieCode(code: 422, meaning: "validation error (unknown task: recordInfo is null)", hint: "fix the parameters (e.g. aspect ratio)"),
        KieCode(code: 429, meaning: "rate limited; the request was NOT queued", hint: "back off: wait 10 s, then exponentially; max 20 creates per 10 s"),
        KieCode(code: 433, meaning: "sub-key usage limit", hint: "raise the key's limit"),
        KieCode(code: 451, meaning: "image fetch failed / not allowed (Veo: the input image could not be downloaded)", hint: "make the image URL publicly reachable (no auth, no hotlink block), or use another image"),
        KieCode(code: 455, meaning: "service unavailable / maintenance", hint: "wait and retry later"),
        KieCode(code: 500, meaning: "server error", hint: "retry with backoff"),
        KieCode(code: 501, meaning: "generation failed", hint: "inspect failMsg; retry or change the prompt"),
        KieCode(code: 502, meaning: "upstream unreachable (kiewatch)", hint: "check network/DNS to the Kie API from the agent"),
        KieCode(code: 504, meaning: "upstream timed out (kiewatch)", hint: "Kie is slow or unreachable; check its status, retry"),
        KieCode(code: 505, meaning: "feature disabled", hint: "contact the provider"),
    ]

    /// The entry for a code, or a generic one for codes Kie may add later.
    public static func lookup(_ code: Int) -> KieCode {
        if let known = table.first(where: { $0.code == code }) { return known }
        switch code {
        case 500..<600: return KieCode(code: code, meaning: "server error", hint: "retry with backoff")
        case 400..<500: return KieCode(code: code, meaning: "client error", hint: "check the request")
        default: return KieCode(code: code, meaning: "unknown code", hint: "see Kie's documentation")
        }
    }

    /// Hint for a `code` label value of `kiewatch_api_requests_total` (a number, `error` or `timeout`).
    public static func hint(forLabel label: String) -> String {
        switch label {
        case "error": return "upstream unreachable or reset: check network/DNS to the Kie API"
        case "timeout": return "upstream timed out: Kie is slow; check its status, retry later"
        default:
            guard let code = Int(label) else { return "-" }
            return lookup(code).hint
        }
    }
}
