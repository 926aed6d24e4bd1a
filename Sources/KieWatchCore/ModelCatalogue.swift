/// Known Kie model ids and the provider each belongs to.
///
/// Model ids are open-ended (new ones appear every month): every id is accepted, and unknown
/// ids get a provider guessed from their prefix. Label cardinality is bounded elsewhere.
public enum ModelCatalogue {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var provider: String
    }

    public static let known: [Entry] = [
        "sora-2-text-to-video", "sora-2-image-to-video", "sora-2-pro-text-to-video",
        "sora-2-pro-image-to-video", "sora-2-pro", "sora-2-pro-storyboard",
        "kling-2.6/text-to-video", "kling-2.6/image-to-video", "kling-2.6/motion-control",
        "kling-2.5-turbo/text-to-video", "kling-2.1/text-to-video",
        "grok-imagine/text-to-video", "grok-imagine/image-to-video",
        "wan/2-6-text-to-video", "wan/2-6-image-to-video", "wan/2-6-video-to-video",
        "hailuo/02-text-to-video-pro", "hailuo/2-3-image-to-video-pro", "hailuo/2-3-image-to-video-standard",
        "bytedance/seedance-1-pro-text-to-video",
        "veo3", "veo3_fast", "veo3_lite",
    ].map { entry(for: $0) }

    /// The catalogue entry for any id, known or not.
    public static func entry(for id: String) -> Entry {
        Entry(id: id, provider: provider(of: id))
    }

    public static func provider(of id: String) -> String {
        let lower = id.lowercased()
        for (prefix, provider) in [
            ("sora", "sora"), ("kling", "kling"), ("grok", "grok"), ("wan", "wan"), ("hailuo", "hailuo"),
            ("bytedance", "seedance"), ("seedance", "seedance"), ("veo", "veo"),
        ] where lower.hasPrefix(prefix) {
            return provider
        }
        let head = lower.split(whereSeparator: { $0 == "/" || $0 == "-" }).first.map(String.init)
        return head ?? "unknown"
    }

    /// Model ids are labels and console fields: strip anything that is not a plausible id
    /// character and cap the length, so a hostile body cannot inject text.
    public static func sanitize(_ raw: String) -> String? {
        // Fast path: the ids Kie sends are already clean.
        if !raw.isEmpty, raw.utf8.count <= 96, raw.utf8.allSatisfy(isIDByte) { return raw }
        let allowed = raw.unicodeScalars.filter {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || $0 == "-" || $0 == "_" || $0 == "." || $0 == "/" || $0 == ":"
        }
        guard !allowed.isEmpty else { return nil }
        return String(String.UnicodeScalarView(allowed.prefix(96)))
    }

    @inline(__always)
    private static func isIDByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "/"), UInt8(ascii: ":"):
            true
        default: false
        }
    }
}
