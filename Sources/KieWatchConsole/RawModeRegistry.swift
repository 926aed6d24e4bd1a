#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The process-wide record of the terminal that is in raw mode, reachable from a signal
/// handler.
///
/// A terminal left in raw mode by a killed console shows no echo and ignores Enter: the
/// engineer has to know to type `reset` blind. So while raw mode is on, SIGINT, SIGTERM,
/// SIGHUP and SIGQUIT go first to a handler that puts the saved attributes back, reinstalls
/// the previous disposition and re-raises the signal, so the process still ends (or the
/// application's own handler still runs) exactly as it would have.
///
/// The handler only touches storage allocated before it was installed (a raw pointer and an
/// atomic) and calls async-signal-safe functions (`tcsetattr`, `sigaction`, `raise`).
enum RawModeRegistry {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Raw storage rather than Swift globals holding arrays: no retain/release or allocation
    /// happens inside the signal handler. Written only while `active` is false and before it
    /// is set (release), read by the handler only after it observes `active` (acquire).
    nonisolated(unsafe) private static let previousActions: UnsafeMutablePointer<sigaction> = {
        let pointer = UnsafeMutablePointer<sigaction>.allocate(capacity: signals.count)
        pointer.initialize(repeating: sigaction(), count: signals.count)
        return pointer
    }()
    nonisolated(unsafe) private static let savedFD = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    nonisolated(unsafe) private static let savedAttributes = UnsafeMutablePointer<termios>.allocate(capacity: 1)

    private static let active = Atomic<Bool>(false)

    static var isActive: Bool { active.load(ordering: .acquiring) }

    /// Records `attributes` as the state to restore for `fd` and installs the handlers.
    /// Returns false if another terminal is already registered.
    static func register(fd: Int32, attributes: termios) -> Bool {
        guard !active.load(ordering: .acquiring) else { return false }
        savedFD.pointee = fd
        savedAttributes.pointee = attributes
        for (index, signal) in signals.enumerated() {
            var action = sigaction()
            setHandler(&action, rawModeSignalHandler)
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: a blocked read returns EINTR, so the reader notices raw mode is gone
            sigaction(signal, &action, previousActions + index)
        }
        active.store(true, ordering: .releasing)
        return true
    }

    /// Puts the saved attributes back and the previous signal dispositions; idempotent, and
    /// safe to call from the signal handler. Returns whether there was anything to restore.
    @discardableResult
    static func restore() -> Bool {
        guard active.exchange(false, ordering: .acquiringAndReleasing) else { return false }
        var attributes = savedAttributes.pointee
        while tcsetattr(savedFD.pointee, TCSANOW, &attributes) != 0 && errno == EINTR {}
        for (index, signal) in signals.enumerated() {
            sigaction(signal, previousActions + index, nil)
        }
        return true
    }

    /// What the handler does; separate so that tests can run it without dying.
    static func handle(signal: Int32, reraise: Bool) {
        restore()
        if reraise { raise(signal) }
    }

    /// The handler currently installed for `signal` is ours (for tests).
    static func ownsHandler(for signal: Int32) -> Bool {
        var current = sigaction()
        sigaction(signal, nil, &current)
        return handlerAddress(current) == unsafeBitCast(rawModeSignalHandler, to: UnsafeRawPointer.self)
    }

    #if canImport(Glibc)
    private static func setHandler(_ action: inout sigaction, _ handler: @convention(c) (Int32) -> Void) {
        action.__sigaction_handler.sa_handler = handler
    }

    private static func handlerAddress(_ action: sigaction) -> UnsafeRawPointer? {
        action.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: UnsafeRawPointer.self) }
    }
    #else
    private static func setHandler(_ action: inout sigaction, _ handler: @convention(c) (Int32) -> Void) {
        action.__sigaction_u.__sa_handler = handler
    }

    private static func handlerAddress(_ action: sigaction) -> UnsafeRawPointer? {
        action.__sigaction_u.__sa_handler.map { unsafeBitCast($0, to: UnsafeRawPointer.self) }
    }
    #endif
}

/// Restores the terminal, then re-raises with the previous disposition back in place: the
/// signal is blocked while its handler runs, so it is delivered right after we return.
private let rawModeSignalHandler: @convention(c) (Int32) -> Void = { signal in
    RawModeRegistry.handle(signal: signal, reraise: true)
}
