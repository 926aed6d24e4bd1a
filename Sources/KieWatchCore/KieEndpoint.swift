/// The `endpoint` label of every recorded API call (the README's "Metrics" lists the values).
public enum KieEndpoint: String, Sendable, CaseIterable, Codable {
    case createTask = "create_task"
    case recordInfo = "record_info"
    case veoGenerate = "veo_generate"
    case veoRecordInfo = "veo_record_info"
    case credit
    case upload
    /// Kie's chat APIs outside `/api/`: `/claude/v1/messages`, `/{model}/v1/chat/completions`,
    /// `/codex/v1/responses`, `/gemini/v1/models/...:streamGenerateContent`.
    case llm
    case other

    /// Classifies a request path (query string allowed) into an endpoint label.
    public init(path: Substring) {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? path
        switch bare {
        case "/api/v1/jobs/createTask": self = .createTask
        case "/api/v1/jobs/recordInfo": self = .recordInfo
        case "/api/v1/veo/generate": self = .veoGenerate
        case "/api/v1/veo/record-info": self = .veoRecordInfo
        case "/api/v1/chat/credit": self = .credit
        default:
            if bare.hasPrefix("/api/file-") {
                self = .upload
            } else if Self.isChatPath(bare) {
                self = .llm
            } else {
                self = .other
            }
        }
    }

    /// A path outside `/api/` whose first or second segment is an API version (`v1`,
    /// `v1beta`, ...): the shape of every chat API Kie serves on its host.
    static func isChatPath(_ path: Substring) -> Bool {
        guard !path.hasPrefix("/api/") else { return false }
        let segments = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).dropFirst().prefix(2)
        return segments.contains { segment in
            let bytes = Array(segment.utf8.prefix(2))
            return bytes.count == 2 && bytes[0] == UInt8(ascii: "v") && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[1])
        }
    }

    public init(path: String) { self.init(path: path[...]) }

    /// The family whose task this endpoint creates or reports on, if any.
    public var family: ModelFamily? {
        switch self {
        case .createTask, .recordInfo: .market
        case .veoGenerate, .veoRecordInfo: .veo
        case .credit, .upload, .llm, .other: nil
        }
    }

    public var createsTask: Bool { self == .createTask || self == .veoGenerate }
    public var reportsStatus: Bool { self == .recordInfo || self == .veoRecordInfo }
}

/// The two families of Kie endpoints, which differ in payload shapes and status endpoints.
public enum ModelFamily: String, Sendable, CaseIterable, Codable {
    case market, veo

    /// The status endpoint that is the final authority for tasks of this family.
    public var statusPath: String {
        switch self {
        case .market: "/api/v1/jobs/recordInfo"
        case .veo: "/api/v1/veo/record-info"
        }
    }

    /// The agent's webhook path that Kie calls back for this family.
    public var webhookPath: String {
        switch self {
        case .market: "/webhooks/kie"
        case .veo: "/webhooks/veo"
        }
    }
}
