/// The `endpoint` label of every recorded API call (the README's "Metrics" lists the values).
public enum KieEndpoint: String, Sendable, CaseIterable, Codable {
    case createTask = "create_task"
    case recordInfo = "record_info"
    case veoGenerate = "veo_generate"
    case veoRecordInfo = "veo_record_info"
    case credit
    case upload
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
            self = bare.hasPrefix("/api/file-") ? .upload : .other
        }
    }

    public init(path: String) { self.init(path: path[...]) }

    /// The family whose task this endpoint creates or reports on, if any.
    public var family: ModelFamily? {
        switch self {
        case .createTask, .recordInfo: .market
        case .veoGenerate, .veoRecordInfo: .veo
        case .credit, .upload, .other: nil
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
