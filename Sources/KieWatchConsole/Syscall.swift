#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a system call that returns -1 on failure, retrying `EINTR`.
///
/// Every descriptor-level call in this module goes through here, so a signal arriving at the
/// wrong moment (SIGWINCH while the editor waits for a key) never surfaces as a failure.
/// Returns the call's result or throws `ConsoleError` with the given code and context.
@discardableResult
func retryingEINTR(
    _ context: @autoclosure () -> String,
    code: ConsoleError.Code = .io,
    _ body: () -> Int
) throws(ConsoleError) -> Int {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = errno
        if error == EINTR { continue }
        throw ConsoleError(code, "\(context()): \(errnoDescription(error))", errno: error)
    }
}

/// Writes all of `bytes` to `fd`, retrying `EINTR` and short writes.
///
/// Sockets go through `send(MSG_NOSIGNAL)` so that a peer that went away yields `EPIPE`
/// instead of killing the console with SIGPIPE; terminals and pipes use `write`.
func writeAll(fd: Int32, _ bytes: [UInt8], isSocket: Bool = false) throws(ConsoleError) {
    var offset = 0
    while offset < bytes.count {
        let written = try retryingEINTR("write") {
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + offset
                let remaining = raw.count - offset
                return isSocket ? send(fd, base, remaining, Int32(MSG_NOSIGNAL)) : write(fd, base, remaining)
            }
        }
        offset += written
    }
}
