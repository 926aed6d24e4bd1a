import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// An epoll instance, owned: the descriptor is closed in `deinit`.
///
/// Shared by the server's `EventLoop` and the client's `HTTPClientEventLoop`. Each registration
/// carries a 64-bit tag (`data`) that `Events` hands back with the ready mask; what the tag means
/// is the caller's business (a registration id, or a descriptor and a wait token).
///
/// `Sendable`: the only state is the descriptor number, and `epoll_ctl`/`epoll_wait` may be
/// called on one epoll descriptor from several threads at once.
package final class Epoll: Sendable {
    package static let input = EPOLLIN.rawValue
    package static let output = EPOLLOUT.rawValue
    package static let error = EPOLLERR.rawValue
    package static let hangUp = EPOLLHUP.rawValue
    package static let readHangUp = EPOLLRDHUP.rawValue
    package static let edgeTriggered = EPOLLET.rawValue
    package static let oneShot = EPOLLONESHOT.rawValue

    package let descriptor: Int32

    package init() throws(HTTPServerError) {
        descriptor = try syscallOrThrow("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit { Glibc.close(descriptor) }

    /// Adds `fd` with the interest mask `events`, tagged with `data`.
    package func add(_ fd: Int32, events: UInt32, data: UInt64) throws(HTTPServerError) {
        try control(EPOLL_CTL_ADD, "epoll_ctl(ADD)", fd, events: events, data: data)
    }

    /// Replaces the interest mask and tag of a registered `fd` (and re-arms a one-shot one).
    package func modify(_ fd: Int32, events: UInt32, data: UInt64) throws(HTTPServerError) {
        try control(EPOLL_CTL_MOD, "epoll_ctl(MOD)", fd, events: events, data: data)
    }

    /// Removes `fd`; failure (it was never added, or is already closed) is ignored.
    package func remove(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, &event)
    }

    private func control(_ operation: Int32, _ name: StaticString, _ fd: Int32, events: UInt32, data: UInt64)
        throws(HTTPServerError)
    {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        let epfd = descriptor
        try syscallOrThrow(name, "fd \(fd)") { epoll_ctl(epfd, operation, fd, &event) }
    }

    /// A buffer `epoll_wait` fills, and what it was filled with.
    package struct Events: ~Copyable {
        private let buffer: UnsafeMutableBufferPointer<epoll_event>

        package init(capacity: Int) {
            buffer = .allocate(capacity: capacity)
            buffer.initialize(repeating: epoll_event())
        }

        deinit { buffer.deallocate() }

        /// Waits up to `timeoutMillis` (-1: forever) and returns how many events are ready.
        ///
        /// An interrupted wait (`EINTR`) reports zero events, so the caller recomputes its
        /// timers. Any other error cannot happen with a valid epoll descriptor; should it
        /// anyway, the wait pauses 10 ms and reports zero events rather than spinning.
        package func wait(on epoll: Epoll, timeoutMillis: Int32) -> Int {
            let count = epoll_wait(epoll.descriptor, buffer.baseAddress, Int32(buffer.count), timeoutMillis)
            if count >= 0 { return Int(count) }
            if errno != EINTR { usleep(10_000) }
            return 0
        }

        /// The ready mask and the registration tag of event `index` from the last `wait`.
        package subscript(index: Int) -> (events: UInt32, data: UInt64) {
            (buffer[index].events, buffer[index].data.u64)
        }
    }
}
