import KieWatchHTTP

extension HTTPHandler {
    /// Answers `request` the way `HTTPServer`'s connections do: `handleInline` first (the
    /// agent's webhook deliveries, answered from the writer's completion), `handle` only when
    /// it declines. Tests drive the paths production runs, without a socket.
    ///
    /// The inline answer's follow-up work runs on the thread that answers (the store writer),
    /// where a connection would hand it to its event loop.
    package func serve(_ request: HTTPRequest) async -> HTTPResponse {
        let inline: HTTPResponse? = await withCheckedContinuation { continuation in
            let responder = InlineResponder { work in continuation.resume(returning: work()) }
            // A handler that declines has not answered (and must not): resumed once either way.
            if !handleInline(request, responder: responder) { continuation.resume(returning: nil) }
        }
        if let inline { return inline }
        return await handle(request)
    }
}
