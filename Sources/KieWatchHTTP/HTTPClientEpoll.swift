#if canImport(Glibc)
import Glibc
#endif

/// `epoll`, which the toolchain's `Glibc` module does not expose (its module map has no
/// `<sys/epoll.h>`), and this target may not add a C shim module.
///
/// The three functions are bound by symbol name. That is sound here because every parameter
/// and result is an `Int32` or a pointer, which the Swift calling convention passes in exactly
/// the registers the C convention uses on x86_64 and arm64 Linux (the only targets we build).
/// `struct epoll_event` is read and written as raw bytes because its layout differs by
/// architecture: packed (12 bytes, data at offset 4) on x86_64, natural (16, data at 8) elsewhere.
/// When the HTTP target gets a C shim (NIO's `CNIOLinux` does exactly this), replace this file.
enum HTTPClientEpoll {
    static let `in`: UInt32 = 0x001
    static let out: UInt32 = 0x004
    static let err: UInt32 = 0x008
    static let hup: UInt32 = 0x010
    static let rdhup: UInt32 = 0x2000
    static let oneShot: UInt32 = 1 << 30
    static let ctlAdd: Int32 = 1
    static let ctlMod: Int32 = 3
    static let cloexec: Int32 = 0o2000000

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    static func create() -> Int32 { kw_epoll_create1(cloexec) }

    /// Adds or re-arms `fd` with `events`, tagging it with `data` (returned by `wait`).
    static func control(_ epfd: Int32, _ op: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { raw in
            raw.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
            return kw_epoll_ctl(epfd, op, fd, raw.baseAddress)
        }
    }

    /// A buffer for `epoll_wait` results.
    struct Events: ~Copyable {
        let capacity: Int
        private let raw: UnsafeMutableRawBufferPointer

        init(capacity: Int) {
            self.capacity = capacity
            raw = .allocate(byteCount: capacity * HTTPClientEpoll.eventSize, alignment: 8)
        }
        deinit { raw.deallocate() }

        /// `epoll_wait`, `EINTR` reported as zero events.
        func wait(_ epfd: Int32, timeoutMillis: Int32) -> Int {
            let n = kw_epoll_wait(epfd, raw.baseAddress, Int32(capacity), timeoutMillis)
            return n < 0 ? 0 : Int(n)
        }

        func data(at index: Int) -> UInt64 {
            raw.loadUnaligned(fromByteOffset: index * HTTPClientEpoll.eventSize + HTTPClientEpoll.dataOffset, as: UInt64.self)
        }
    }
}

@_silgen_name("epoll_create1")
private func kw_epoll_create1(_ flags: Int32) -> Int32

@_silgen_name("epoll_ctl")
private func kw_epoll_ctl(_ epfd: Int32, _ op: Int32, _ fd: Int32, _ event: UnsafeMutableRawPointer?) -> Int32

@_silgen_name("epoll_wait")
private func kw_epoll_wait(_ epfd: Int32, _ events: UnsafeMutableRawPointer?, _ maxEvents: Int32, _ timeout: Int32) -> Int32
