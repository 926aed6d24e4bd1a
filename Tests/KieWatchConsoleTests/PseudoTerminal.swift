#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX pseudo-terminal calls, looked up at run time: Swift's Glibc module does not
/// export them (they sit behind `_XOPEN_SOURCE` in `stdlib.h`), but libc has them.
private enum PTY {
    typealias IntFunction = @convention(c) (Int32) -> Int32
    typealias NameFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>, Int) -> Int32

    static func symbol<T>(_ name: String, as type: T.Type) -> T {
        let handle = dlopen(nil, RTLD_NOW)
        guard let address = dlsym(handle, name) else { fatalError("libc has no \(name)") }
        return unsafeBitCast(address, to: type)
    }

    static let posix_openpt = symbol("posix_openpt", as: IntFunction.self)
    static let grantpt = symbol("grantpt", as: IntFunction.self)
    static let unlockpt = symbol("unlockpt", as: IntFunction.self)
    static let ptsname_r = symbol("ptsname_r", as: NameFunction.self)
}

/// A pseudo-terminal pair, so terminal code can be tested on a real TTY without a human.
struct PseudoTerminal {
    let master: Int32
    let slave: Int32

    init() {
        master = PTY.posix_openpt(O_RDWR | O_NOCTTY)
        precondition(master >= 0, "posix_openpt failed: \(errno)")
        precondition(PTY.grantpt(master) == 0 && PTY.unlockpt(master) == 0, "grantpt/unlockpt failed: \(errno)")
        var name = [CChar](repeating: 0, count: 128)
        precondition(PTY.ptsname_r(master, &name, name.count) == 0, "ptsname_r failed")
        let path = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        slave = open(path, O_RDWR | O_NOCTTY)
        precondition(slave >= 0, "opening the slave failed: \(errno)")
    }

    func attributes() -> termios {
        var attributes = termios()
        tcgetattr(slave, &attributes)
        return attributes
    }

    func close() {
        Glibc.close(slave)
        Glibc.close(master)
    }
}

/// The flags raw mode changes, for comparing before and after.
struct TerminalFlags: Equatable {
    var input, output, control, local: tcflag_t
    var vmin, vtime: cc_t

    init(_ t: termios) {
        var copy = t
        input = t.c_iflag
        output = t.c_oflag
        control = t.c_cflag
        local = t.c_lflag
        (vmin, vtime) = withUnsafeBytes(of: &copy.c_cc) { ($0[Int(VMIN)], $0[Int(VTIME)]) }
    }
}
