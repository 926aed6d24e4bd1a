/// The `endpoint` label of every recorded API call (the README's "Metrics" lists the values):
/// the create and status calls of every task family (their labels come from the family table,
/// `TaskFamily`), and a few account and pass-through kinds. Bounded: no value comes from a
/// request.
public struct KieEndpoint: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String
    /// The family whose task this endpoint creates or reports on, if any.
    public let family: TaskFamily?
    public let createsTask: Bool
    public let reportsStatus: Bool

    public var description: String { rawValue }

    private init(_ label: String, family: TaskFamily? = nil, creates: Bool = false, status: Bool = false) {
        rawValue = label
        self.family = family
        createsTask = creates
        reportsStatus = status
    }

    public static let credit = KieEndpoint("credit")
    public static let upload = KieEndpoint("upload")
    /// Kie's chat APIs outside `/api/`: `/claude/v1/messages`, `/{model}/v1/chat/completions`,
    /// `/codex/v1/responses`, `/gemini/v1/models/...:streamGenerateContent`.
    public static let llm = KieEndpoint("llm")
    public static let other = KieEndpoint("other")

    public static let createTask = KieEndpoint(role: .create(.market, TaskFamily.market.creates[0]))
    public static let recordInfo = KieEndpoint(role: .status(.market, TaskFamily.market.status))
    public static let veoGenerate = KieEndpoint(role: .create(.veo, TaskFamily.veo.creates[0]))
    public static let veoRecordInfo = KieEndpoint(role: .status(.veo, TaskFamily.veo.status))

    init(role: TaskFamily.Role) {
        switch role {
        case .create(let family, let endpoint): self.init(endpoint.label, family: family, creates: true)
        case .status(let family, let endpoint): self.init(endpoint.label, family: family, status: true)
        }
    }

    /// Every value: the table's create and status labels, then the others.
    public static let allCases: [KieEndpoint] = {
        var seen = Set<String>()
        var all: [KieEndpoint] = []
        for family in TaskFamily.all {
            for endpoint in family.creates {
                guard let role = TaskFamily.role(ofPath: endpoint.path[...]), seen.insert(endpoint.label).inserted else { continue }
                all.append(KieEndpoint(role: role))
            }
            guard let role = TaskFamily.role(ofPath: family.status.path[...]), seen.insert(family.status.label).inserted
            else { continue }
            all.append(KieEndpoint(role: role))
        }
        return all + [credit, upload, llm, other]
    }()

    static let byLabel: [String: KieEndpoint] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// The endpoint a stored label names; nil for a label no version of the table had.
    public init?(rawValue: String) {
        guard let found = Self.byLabel[rawValue] else { return nil }
        self = found
    }

    /// Classifies a request path (query string allowed) into an endpoint label.
    public init(path: Substring) {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? path
        if let role = TaskFamily.role(ofPath: bare) {
            self.init(role: role)
        } else if bare == "/api/v1/chat/credit" {
            self = .credit
        } else if bare.hasPrefix("/api/file-") {
            self = .upload
        } else if Self.isChatPath(bare) {
            self = .llm
        } else {
            self = .other
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
}
