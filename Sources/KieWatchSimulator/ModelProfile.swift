/// How long a model takes and what it costs, in the simulator's catalogue.
///
/// Times are the 5th–95th percentile of a log-normal (see `SeededRandom.logNormal`), from
/// Kie's documentation and integration reports; costs are in Kie credits, close to Kie's price list but
/// only meant to be plausible. Unknown model ids get the generic profile: Kie adds models every
/// month and the simulator must take any id, like the agent.
struct ModelProfile: Sendable, Equatable {
    /// Seconds from `generating` to a terminal state.
    var generationSeconds: ClosedRange<Double>
    /// Credits reserved at create and consumed on success.
    var credits: Int64
    /// Whether market recordInfo reports `progress` (Sora models do).
    var reportsProgress: Bool
    /// What the model makes: its result URLs point at videos, images or songs.
    var media: Media = .video

    enum Media: Sendable, Equatable {
        case video, image, audio
    }

    /// Seconds spent in `waiting` before the task is queued.
    static let waitingSeconds: ClosedRange<Double> = 0.5...3
    /// Seconds spent in `queuing` before generation starts.
    static let queuingSeconds: ClosedRange<Double> = 1...15

    static func forModel(_ id: String) -> ModelProfile {
        let model = id.lowercased()
        if model.hasPrefix("sora-2") {
            let isImageToVideo = model.contains("image-to-video")
            let isPro = model.hasPrefix("sora-2-pro")
            return ModelProfile(
                generationSeconds: isImageToVideo ? 120...300 : 60...180,
                credits: isPro ? (model.contains("storyboard") ? 250 : 150) : 30,
                reportsProgress: true)
        }
        if model == "veo3" { return ModelProfile(generationSeconds: 40...150, credits: 250, reportsProgress: false) }
        if model == "veo3_fast" { return ModelProfile(generationSeconds: 40...150, credits: 60, reportsProgress: false) }
        if model == "veo3_lite" { return ModelProfile(generationSeconds: 30...120, credits: 30, reportsProgress: false) }
        if isImageModel(model) {
            return ModelProfile(generationSeconds: 5...40, credits: 10, reportsProgress: false, media: .image)
        }
        if model.hasPrefix("suno") { return ModelProfile(generationSeconds: 20...90, credits: 12, reportsProgress: false, media: .audio) }
        if model.hasPrefix("veo-extend/") { return ModelProfile(generationSeconds: 40...150, credits: 60, reportsProgress: false) }
        if model == "veo3-4k" { return ModelProfile(generationSeconds: 30...120, credits: 40, reportsProgress: false) }
        if model.hasPrefix("runway") { return ModelProfile(generationSeconds: 30...120, credits: 30, reportsProgress: false) }
        if model.hasPrefix("luma") { return ModelProfile(generationSeconds: 60...200, credits: 70, reportsProgress: false) }
        if model.hasPrefix("kling") { return ModelProfile(generationSeconds: 30...120, credits: 55, reportsProgress: false) }
        if model.hasPrefix("wan/") { return ModelProfile(generationSeconds: 30...120, credits: 70, reportsProgress: false) }
        if model.hasPrefix("grok") { return ModelProfile(generationSeconds: 30...120, credits: 20, reportsProgress: false) }
        if model.hasPrefix("hailuo") { return ModelProfile(generationSeconds: 30...120, credits: 45, reportsProgress: false) }
        if model.hasPrefix("seedance") || model.hasPrefix("bytedance") {
            return ModelProfile(generationSeconds: 30...120, credits: 40, reportsProgress: false)
        }
        return ModelProfile(generationSeconds: 30...180, credits: 50, reportsProgress: false)
    }

    /// Image models, by how their ids name the output (`*-to-image`, `image-edit`, a `/image` or
    /// `-image` variant such as `kling-3.0/image`) or by the image-only families Kie serves.
    static func isImageModel(_ lowercasedID: String) -> Bool {
        let id = lowercasedID
        if id.contains("to-image") || id.contains("image-edit") || id.hasSuffix("/image") || id.hasSuffix("-image") {
            return true
        }
        let imageFamilies = ["nano-banana", "google/nano-banana", "seedream", "bytedance/seedream", "imagen", "google/imagen",
                             "gpt-image", "flux", "ideogram", "qwen/image", "midjourney"]
        return imageFamilies.contains { id.hasPrefix($0) }
    }
}
