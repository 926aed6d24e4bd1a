extension HTTPServer {
    /// Every limit and timeout of the server, with defaults suited to an agent in front of one
    /// application. Over a limit the client gets the matching status (431/413/414/408) with
    /// `Connection: close`, the connection closes, and everyone else keeps being served.
    ///
    /// | field | default | over it |
    /// |---|---|---|
    /// | `maxHeaderBytes` | 80 KiB | 431, close |
    /// | `maxHeaderCount` | 100 | 431, close |
    /// | `maxTargetBytes` | 8 KiB | 414, close |
    /// | `maxBodyBytes` | 16 MiB | 413, close |
    /// | `maxConnections` | 4096 | new connections get 503 and are closed |
    /// | `headerReadTimeout` | 10 s | 408, close (silent close if nothing was sent) |
    /// | `bodyReadTimeout` | 30 s | 408, close |
    /// | `idleTimeout` | 60 s | keep-alive connection closed silently |
    /// | `handlerTimeout` | 30 s | `handlerTimeoutStatus` (503), close |
    /// | `writeTimeout` | 30 s | connection closed |
    /// | `lingerTimeout` | 2 s | lingering close ends |
    /// | `eventLoopCount` | 1 | |
    /// | `timerResolution` | 100 ms | |
    public struct Configuration: Sendable, Equatable {
        /// Request line plus headers. NIO and hummingbird use the same 80 KiB.
        public var maxHeaderBytes = 80 * 1024
        /// Header fields per request.
        public var maxHeaderCount = 100
        /// The request target (path and query).
        public var maxTargetBytes = 8 * 1024
        /// Request body, announced or received. Large enough for the uploads the proxy forwards.
        public var maxBodyBytes = 16 * 1024 * 1024
        /// Open connections. Each idle one costs a descriptor and well under 1 KiB.
        public var maxConnections = 4096
        /// From the first byte of a request (or from accept, for a connection's first request)
        /// to the end of its head. Bounds slowloris-style clients: the deadline does not move
        /// when a byte arrives.
        public var headerReadTimeout: Duration = .seconds(10)
        /// The longest pause while a body is being received (restarts on every read that brings
        /// bytes, so a large upload on a slow link is not cut; `maxConnections` bounds the rest).
        public var bodyReadTimeout: Duration = .seconds(30)
        /// How long a keep-alive connection may wait for its next request.
        public var idleTimeout: Duration = .seconds(60)
        /// How long the handler may take; then the client gets `handlerTimeoutStatus` and the
        /// handler's task is cancelled.
        public var handlerTimeout: Duration = .seconds(30)
        /// 503 (the server could not answer in time) by default; 504 suits a pure proxy.
        public var handlerTimeoutStatus = 503
        /// The longest pause while a response is being written to a client that does not read.
        public var writeTimeout: Duration = .seconds(30)
        /// After a refusing response, how long to keep reading (and discarding) before closing,
        /// so the client receives the response instead of a reset caused by its unread bytes.
        public var lingerTimeout: Duration = .seconds(2)
        /// Event-loop threads. One sustains tens of thousands of small requests per second;
        /// handlers run on the Swift concurrency pool, not on the loops (`handleInline` aside).
        public var eventLoopCount = 1
        /// How often deadlines are checked: timeouts fire up to this much late.
        public var timerResolution: Duration = .milliseconds(100)
        /// The listen backlog.
        public var backlog = 1024

        public init() {}

        /// The parser's share of the limits.
        public var parserLimits: HTTPRequestParser.Limits {
            HTTPRequestParser.Limits(
                maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount, maxTargetBytes: maxTargetBytes,
                maxBodyBytes: maxBodyBytes)
        }

        /// The values in effect as a Markdown table (for the README and `--help`).
        public func describe() -> String {
            let rows: [(String, String, String)] = [
                ("maxHeaderBytes", Self.bytes(maxHeaderBytes), "431, close"),
                ("maxHeaderCount", "\(maxHeaderCount)", "431, close"),
                ("maxTargetBytes", Self.bytes(maxTargetBytes), "414, close"),
                ("maxBodyBytes", Self.bytes(maxBodyBytes), "413, close"),
                ("maxConnections", "\(maxConnections)", "503, close"),
                ("headerReadTimeout", "\(headerReadTimeout)", "408, close"),
                ("bodyReadTimeout", "\(bodyReadTimeout)", "408, close"),
                ("idleTimeout", "\(idleTimeout)", "closed silently"),
                ("handlerTimeout", "\(handlerTimeout)", "\(handlerTimeoutStatus), close"),
                ("writeTimeout", "\(writeTimeout)", "closed"),
                ("lingerTimeout", "\(lingerTimeout)", "closed"),
                ("eventLoopCount", "\(eventLoopCount)", ""),
                ("timerResolution", "\(timerResolution)", ""),
                ("backlog", "\(backlog)", ""),
            ]
            var text = "| limit | value | over it |\n|---|---|---|\n"
            for (name, value, effect) in rows { text += "| `\(name)` | \(value) | \(effect) |\n" }
            return text
        }

        private static func bytes(_ count: Int) -> String {
            if count >= 1 << 20 && count % (1 << 20) == 0 { return "\(count >> 20) MiB" }
            if count >= 1 << 10 && count % (1 << 10) == 0 { return "\(count >> 10) KiB" }
            return "\(count) B"
        }
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; for deadlines on the monotonic clock.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max / 2 : whole + UInt64(attoseconds / 1_000_000_000)
    }
}
