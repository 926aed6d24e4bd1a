#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one error type of the console module.
///
/// `message` is already the single line an on-call engineer should see: what failed and,
/// where there is one, what to do about it. `code` is for callers that branch on the cause.
public struct ConsoleError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The admin socket could not be reached (missing, refused, permission, path too long).
        case agentUnreachable
        /// The agent closed the connection before the answer was complete.
        case connectionLost
        /// The agent did not answer within the client's deadline.
        case timeout
        /// The bytes on the socket do not follow `AdminProtocol`.
        case protocolViolation
        /// A terminal call (`tcgetattr`, `tcsetattr`, `ioctl`) failed.
        case terminal
        /// Any other system call failed.
        case io
    }

    public let code: Code
    public let message: String
    /// The `errno` behind the failure, when there was one.
    public let errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}

/// `strerror` in lower case ("connection refused"), so it reads well inside a sentence.
func errnoDescription(_ code: Int32) -> String {
    guard let cString = strerror(code) else { return "errno \(code)" }
    let text = String(cString: cString)
    guard let first = text.first else { return "errno \(code)" }
    return first.lowercased() + text.dropFirst()
}
