import KieWatchCore
import KieWatchHTTP

/// Removes the agent's own secrets from bodies it stores, relays or passes back.
///
/// Kie echoes the create request inside later payloads (`param` in callbacks and status
/// answers), and that request carries the callback URL the agent gave Kie, with the callback
/// secret in it. Every stored or relayed body goes through here so the secret never reaches
/// a row, the app, or the console.
struct SecretScrubber: Sendable {
    private let needles: [[UInt8]]
    static let replacement = Array(URLRedaction.placeholder.utf8)

    init(secrets: [String?]) {
        var needles = Set<[UInt8]>()
        for case let secret? in secrets where secret.utf8.count >= 4 {
            needles.insert(Array(secret.utf8))
            needles.insert(Array(percentEncode(secret).utf8))
        }
        // Longest first, so an encoded form is replaced whole.
        self.needles = needles.sorted { $0.count > $1.count }
    }

    var isEmpty: Bool { needles.isEmpty }

    func scrub(_ body: [UInt8]) -> [UInt8] {
        guard !needles.isEmpty, !body.isEmpty else { return body }
        var out = body
        for needle in needles { out = Self.replace(needle, in: out) }
        return out
    }

    private static func replace(_ needle: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        guard haystack.count >= needle.count, let first = needle.first else { return haystack }
        var out: [UInt8] = []
        var i = 0
        var copiedUpTo = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) {
                if out.isEmpty { out.reserveCapacity(haystack.count) }
                out.append(contentsOf: haystack[copiedUpTo..<i])
                out.append(contentsOf: replacement)
                i += needle.count
                copiedUpTo = i
            } else {
                i += 1
            }
        }
        guard copiedUpTo > 0 else { return haystack }
        out.append(contentsOf: haystack[copiedUpTo...])
        return out
    }
}
