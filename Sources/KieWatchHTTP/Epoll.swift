#if canImport(Glibc)
import Glibc
#endif

/// The epoll and eventfd calls, declared here because the toolchain's Glibc module map does not
/// include `<sys/epoll.h>` or `<sys/eventfd.h>` and this package has no C shim target.
///
/// The functions are bound by symbol name with the C signatures; every argument is an integer
/// or a pointer, which the Swift and C calling conventions pass identically on Linux. Constants
/// are the kernel ABI values (stable, shared by every architecture Swift runs on).
/// `struct epoll_event` is packed on x86_64 (12 bytes) and naturally aligned elsewhere (16), so
/// it is never declared as a Swift struct: events are read and written at explicit offsets.
package enum Epoll {
    package static let input: UInt32 = 0x001
    package static let output: UInt32 = 0x004
    package static let error: UInt32 = 0x008
    package static let hangUp: UInt32 = 0x010
    package static let readHangUp: UInt32 = 0x2000
    package static let edgeTriggered: UInt32 = 1 << 31

    static let controlAdd: Int32 = 1
    static let controlDelete: Int32 = 2
    static let controlModify: Int32 = 3
    static let closeOnExec: Int32 = 0o2000000  // EPOLL_CLOEXEC == EFD_CLOEXEC == O_CLOEXEC
    static let eventNonBlocking: Int32 = 0o4000  // EFD_NONBLOCK == O_NONBLOCK

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    static func create() -> Int32 { kw_epoll_create1(closeOnExec) }

    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            withUnsafeBytes(of: data) { bytes in
                UnsafeMutableRawBufferPointer(rebasing: raw[dataOffset..<dataOffset + 8]).copyMemory(from: bytes)
            }
            return kw_epoll_ctl(epollFD, operation, fd, raw.baseAddress)
        }
    }

    static func wait(_ epollFD: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int32, timeout: Int32) -> Int32 {
        kw_epoll_wait(epollFD, buffer, capacity, timeout)
    }

    /// The mask and data of event `index` in a buffer filled by `wait`.
    static func event(in buffer: UnsafeMutableRawPointer, at index: Int) -> (events: UInt32, data: UInt64) {
        let base = buffer + index * eventSize
        return (base.loadUnaligned(as: UInt32.self), (base + dataOffset).loadUnaligned(as: UInt64.self))
    }

    static func makeEventFD() -> Int32 { kw_eventfd(0, closeOnExec | eventNonBlocking) }
}

@_silgen_name("epoll_create1")
private func kw_epoll_create1(_ flags: Int32) -> Int32

@_silgen_name("epoll_ctl")
private func kw_epoll_ctl(_ epfd: Int32, _ op: Int32, _ fd: Int32, _ event: UnsafeMutableRawPointer?) -> Int32

@_silgen_name("epoll_wait")
private func kw_epoll_wait(_ epfd: Int32, _ events: UnsafeMutableRawPointer, _ maxEvents: Int32, _ timeout: Int32)
    -> Int32

@_silgen_name("eventfd")
private func kw_eventfd(_ initialValue: UInt32, _ flags: Int32) -> Int32
