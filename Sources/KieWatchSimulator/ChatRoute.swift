/// One of Kie's chat APIs, served on the API host outside `/api/` (README, "The simulator"): the wire dialect
/// the path speaks and the model it names.
struct ChatRoute: Equatable, Sendable {
    enum Dialect: Equatable, Sendable {
        /// `/claude/v1/messages`: Anthropic Messages.
        case messages
        /// `/{model}/v1/chat/completions`: OpenAI chat completions.
        case chatCompletions
        /// `/codex/v1/responses`, `/grok/v1/responses`: OpenAI Responses.
        case responses
        /// `/gemini/v1/models/{model}:generateContent`, or `:streamGenerateContent` (always streamed).
        case gemini(streaming: Bool)
    }

    var dialect: Dialect
    /// The model the path names (chat completions, Gemini), else the provider (`claude`,
    /// `codex`, `grok`), used when the body names no `model`.
    var pathModel: String

    init?(path: Substring) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        switch Array(parts) {
        case ["claude", "v1", "messages"]:
            self.init(dialect: .messages, pathModel: "claude")
        case let p where p.count == 3 && (p[0] == "codex" || p[0] == "grok") && p[1] == "v1" && p[2] == "responses":
            self.init(dialect: .responses, pathModel: String(p[0]))
        case let p where p.count == 4 && p[1] == "v1" && p[2] == "chat" && p[3] == "completions":
            self.init(dialect: .chatCompletions, pathModel: String(p[0]))
        case let p where p.count == 4 && p[0] == "gemini" && (p[1] == "v1" || p[1] == "v1beta") && p[2] == "models":
            let target = p[3].split(separator: ":", maxSplits: 1)
            guard target.count == 2, !target[0].isEmpty else { return nil }
            switch target[1] {
            case "streamGenerateContent": self.init(dialect: .gemini(streaming: true), pathModel: String(target[0]))
            case "generateContent": self.init(dialect: .gemini(streaming: false), pathModel: String(target[0]))
            default: return nil
            }
        default:
            return nil
        }
    }

    private init(dialect: Dialect, pathModel: String) {
        self.dialect = dialect
        self.pathModel = pathModel
    }
}
