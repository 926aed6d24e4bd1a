#if canImport(Glibc)
import Glibc
#endif

/// The result of a system call on a non-blocking descriptor: it did something, or the kernel
/// would have blocked and the caller should wait for readiness.
package enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

/// Runs a system call the NIO way: retries `EINTR`, maps `EAGAIN`/`EWOULDBLOCK` to
/// `.wouldBlock`, and throws an `HTTPServerError` carrying `errno` for anything else.
///
/// `body` must return -1 on failure and set `errno`, as every POSIX call here does.
@inline(__always)
package func syscall<T: FixedWidthInteger>(
    _ name: StaticString, _ context: @autoclosure () -> String = "", _ body: () -> T
) throws(HTTPServerError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .processed(result) }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        default:
            throw HTTPServerError(code: .syscall, errno: code, message: "\(name)", context: context())
        }
    }
}

/// `syscall` for calls that cannot meaningfully block (`bind`, `listen`, `setsockopt`, ...):
/// a would-block there is reported as an error too.
@inline(__always)
@discardableResult
package func syscallOrThrow<T: FixedWidthInteger>(
    _ name: StaticString, _ context: @autoclosure () -> String = "", _ body: () -> T
) throws(HTTPServerError) -> T {
    switch try syscall(name, context(), body) {
    case .processed(let value): return value
    case .wouldBlock:
        throw HTTPServerError(code: .syscall, errno: EAGAIN, message: "\(name)", context: context())
    }
}
