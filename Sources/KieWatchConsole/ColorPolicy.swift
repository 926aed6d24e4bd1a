#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether output may carry ANSI colour.
///
/// Colour is on only when stdout is a terminal and `NO_COLOR` (https://no-color.org) is unset
/// or empty; `TERM=dumb` also turns it off, since such terminals print the escape codes.
/// Decided once per process (`standardOutput`) so that one run never mixes styles, and passed
/// explicitly to renderers so tests, and the agent rendering for a remote console, choose.
public struct ColorPolicy: Sendable, Equatable {
    public let isEnabled: Bool

    public init(enabled: Bool) {
        self.isEnabled = enabled
    }

    public static let disabled = ColorPolicy(enabled: false)
    public static let enabled = ColorPolicy(enabled: true)

    /// The decision rule, pure so it can be tested.
    public static func detect(isTTY: Bool, environment: [String: String]) -> ColorPolicy {
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let dumb = environment["TERM"] == "dumb"
        return ColorPolicy(enabled: isTTY && !noColor && !dumb)
    }

    /// The policy for this process's stdout, computed on first use.
    public static let standardOutput = detect(
        isTTY: isatty(STDOUT_FILENO) == 1,
        environment: currentEnvironment(["NO_COLOR", "TERM"])
    )

    /// SGR codes used by the console, one meaning each.
    public enum Style: String, Sendable {
        case bold = "1"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case dim = "2"
    }

    /// `text` wrapped in the style when colour is enabled, `text` unchanged otherwise.
    public func apply(_ style: Style, to text: String) -> String {
        guard isEnabled, !text.isEmpty else { return text }
        return "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m"
    }
}
