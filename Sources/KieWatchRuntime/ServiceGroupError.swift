/// Why a `ServiceGroup` did not start, in one line.
package struct ServiceGroupError: Error, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// A service threw before it had started (`underlying` says why).
        case startFailed
        /// A service returned before it had started, or one already started ended by itself
        /// while the others were starting.
        case endedWhileStarting
        /// The group was asked to stop before every service had started.
        case stoppedWhileStarting
        /// `start` was called on a group that had already been started or stopped.
        case alreadyStarted
    }

    package let code: Code
    /// The service concerned, if any.
    package let service: String?
    /// What the service threw, if it threw.
    package let underlying: (any Error)?

    package init(_ code: Code, service: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.service = service
        self.underlying = underlying
    }

    package var description: String {
        let name = service ?? "a service"
        switch code {
        case .startFailed: return "\(name) failed to start: \(underlying.map { "\($0)" } ?? "unknown error")"
        case .endedWhileStarting: return "\(name) ended while the services were starting"
        case .stoppedWhileStarting: return "stopped while the services were starting"
        case .alreadyStarted: return "the service group was already started or stopped"
        }
    }
}
