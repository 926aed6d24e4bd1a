import KieWatchCore

/// Whether the relay can ever deliver to an app's `callBackUrl`, decided when the create
/// passes through the proxy, so a URL the agent could never call is refused up front (a
/// Kie-shaped 422) instead of being accepted and then retried for a day in silence.
///
/// It asks exactly what the relay will ask, the transport's own parser (`HTTPClientURL`), so
/// the two cannot disagree: http or https, a host, a valid port, no spaces or control
/// characters; user info is fine (sent as `Authorization: Basic`) unless its user name holds a
/// `:`, which Basic cannot carry. Pure: no I/O, no name resolution (an unreachable host is a
/// transient failure the relay retries, not a wrong URL).
public enum CallbackURLCheck {
    /// nil when the relay can deliver to `url`; otherwise the message to answer the create
    /// with (`kiewatch: callBackUrl ...`), the URL in it redacted.
    public static func problem(_ url: String) -> String? {
        do {
            _ = try HTTPClientURL(url)
            return nil
        } catch {
            switch error {
            case .unsupportedScheme(let scheme):
                return "kiewatch: callBackUrl must be an http:// or https:// URL, not \(scheme)://"
            default:
                return "kiewatch: callBackUrl is not a URL the agent can deliver callbacks to "
                    + "(absolute http(s) URL with a host and no spaces): \(URLRedaction.redact(url))"
            }
        }
    }
}
