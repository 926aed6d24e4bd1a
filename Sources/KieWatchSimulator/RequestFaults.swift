import KieWatchHTTP

/// The network-level faults drawn for one request, before it is routed.
struct RequestFaults: Sendable, Equatable {
    var reset: Bool
    var slow: Bool
    var serverError: ServerError?

    /// The fixed mix of injected server errors (see `SimulatorConfiguration.serverErrorRate`).
    enum ServerError: Sendable, Equatable {
        /// HTTP 200 with body code 500: Kie's own way of failing.
        case bodyCode500
        /// HTTP 500 with a Kie envelope.
        case http500
        /// HTTP 502 or 503 with an HTML page, as a load balancer in front of Kie sends it.
        case http502, http503

        /// Maps a uniform roll in 0...5: half body code 500, a sixth each of the HTTP errors.
        init(roll: Int) {
            switch roll {
            case 0...2: self = .bodyCode500
            case 3: self = .http500
            case 4: self = .http502
            default: self = .http503
            }
        }

        var response: HTTPResponse {
            switch self {
            case .bodyCode500: .kieError(code: 500, msg: "Server exception, please try again later", status: 200)
            case .http500: .kieError(code: 500, msg: "Internal Server Error", status: 500)
            case .http502: Self.gatewayPage(502, "Bad Gateway")
            case .http503: Self.gatewayPage(503, "Service Temporarily Unavailable")
            }
        }

        private static func gatewayPage(_ status: Int, _ reason: String) -> HTTPResponse {
            HTTPResponse(
                status: status, contentType: "text/html",
                body: "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n<center><h1>\(status) \(reason)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            )
        }
    }
}
