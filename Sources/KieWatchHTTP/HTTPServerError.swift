#if canImport(Glibc)
import Glibc
#endif

/// The one error type of KieWatchHTTP: what the environment did to us (a syscall failed, an
/// address could not be resolved or bound, the server was used in the wrong state).
///
/// Peer misbehaviour is *not* an `HTTPServerError`: a bad request becomes an `HTTPParseError`
/// and a status code, a dead peer just closes its connection.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A system call failed; `errno` says why.
        case syscall
        /// `HOST` could not be resolved to an address.
        case addressResolution
        /// A Unix socket path is too long, exists and is not a socket, or is already served.
        case invalidAddress
        /// The server is not in a state that allows the call (e.g. `start` after `shutdown`).
        case invalidState
    }

    public var code: Code
    /// The `errno` of a failed system call, when there was one.
    public var errno: Int32?
    /// What failed, e.g. `bind`.
    public var message: String
    /// Where: an address, a path, a file descriptor.
    public var context: String

    public init(code: Code, errno: Int32? = nil, message: String, context: String = "") {
        self.code = code
        self.errno = errno
        self.message = message
        self.context = context
    }

    public var description: String {
        var text = "\(message)"
        if !context.isEmpty { text += " (\(context))" }
        if let errno {
            text += ": \(String(cString: strerror(errno))) (errno \(errno))"
        }
        return text
    }
}
