import KieWatchCore
import KieWatchHTTP

/// Decides whether a callback really comes from Kie: the shared secret (`?secret=` or
/// `Authorization: Bearer`), compared in constant time, and, when an HMAC key is configured,
/// `X-Webhook-Signature` = base64(HMAC-SHA256(key, taskId + "." + timestamp)) with the
/// timestamp inside a window (a captured delivery cannot be replayed days later).
public struct WebhookAuthenticator: Sendable {
    public enum Verdict: String, Sendable, Equatable {
        case ok
        case missingSecret = "missing_secret"
        case badSecret = "bad_secret"
        case missingSignature = "missing_signature"
        case badSignature = "bad_signature"
        case staleTimestamp = "stale_timestamp"

        public var isAccepted: Bool { self == .ok }
    }

    let secret: [UInt8]?
    let hmacKey: [UInt8]?
    /// How far `X-Webhook-Timestamp` may be from now, either way.
    ///
    /// The header is whole seconds as `Int64` reads them (surrounding spaces, a `+`, leading
    /// zeros allowed); what is not a number, and any number outside the window however large
    /// (up to `Int64.max` or down to `Int64.min`), is `staleTimestamp`: a 401, never a trap.
    public let timestampWindowMillis: Int64

    public init(secret: String?, hmacKey: String?, timestampWindowMillis: Int64 = 5 * 60_000) {
        self.secret = secret.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.hmacKey = hmacKey.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.timestampWindowMillis = timestampWindowMillis
    }

    public var requiresSecret: Bool { secret != nil }
    public var verifiesSignature: Bool { hmacKey != nil }

    /// The shared-secret check, done before the body is even parsed.
    public func checkSecret(_ request: HTTPRequest) -> Verdict {
        guard let secret else { return .ok }
        var presented: Substring?
        if let q = request.queryItem("secret") {
            presented = q[...]
        } else if let auth = request.headers["Authorization"], let space = auth.utf8.firstIndex(of: UInt8(ascii: " ")),
            auth[..<space].equalsIgnoringASCIICase("bearer")
        {
            presented = auth[auth.utf8.index(after: space)...]
        }
        guard let presented, !presented.isEmpty else { return .missingSecret }
        return constantTimeEquals(presented.utf8, secret) ? .ok : .badSecret
    }

    /// The signature check, which needs the task id from the body.
    public func checkSignature(_ request: HTTPRequest, taskId: String, now: EpochMillis) -> Verdict {
        guard let hmacKey else { return .ok }
        guard let signature = request.headers["X-Webhook-Signature"],
            let timestamp = request.headers["X-Webhook-Timestamp"]
        else { return .missingSignature }
        guard let seconds = Int64(timestamp.trimmingCharacters(in: " ")), isFresh(seconds: seconds, now: now) else {
            return .staleTimestamp
        }
        let expected = Base64.encode(
            HMACSHA256.authenticationCode(key: hmacKey, message: Array("\(taskId).\(timestamp)".utf8)))
        return constantTimeEquals(Array(signature.utf8), Array(expected.utf8)) ? .ok : .badSignature
    }

    /// Whether `seconds` (any Int64 a header may carry, `+`, leading zeros and all) is within
    /// the window of `now`. Overflow-reporting arithmetic and the distance as a magnitude: a
    /// timestamp whose milliseconds, or whose distance from now, do not fit Int64 is simply
    /// far away (stale, 401), never a trap.
    func isFresh(seconds: Int64, now: EpochMillis) -> Bool {
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return false }
        let (difference, beyond) = millis.subtractingReportingOverflow(now)
        guard !beyond else { return false }
        return difference.magnitude <= UInt64(max(timestampWindowMillis, 0))
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
