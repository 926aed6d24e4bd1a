/// A response body produced while it is being sent: server-sent events, or an upstream answer
/// passed on as it arrives.
///
/// The server writes the head at once with `Transfer-Encoding: chunked` (an HTTP/1.0 client gets
/// the bytes unframed and the connection closes after them), then each chunk as it comes. It
/// asks for the next chunk only once the previous one is written, so a producer that makes
/// chunks on demand (`init(unfolding:)`) is held back by a slow client; `makeStream()`'s
/// continuation buffers whatever it is given. Ending: the producer finishes (nil from
/// `unfolding`, `finish()`) to end the body, or throws to abort it, and then the connection is
/// reset without the final chunk, so the client cannot take a truncated body for a whole one.
/// A producer that yields nothing for the server's `handlerTimeout` is aborted the same way.
/// When the connection ends first (client gone, timeout), the server drops the stream: the
/// continuation's `onTermination` runs and the `unfolding` closure is released.
public struct HTTPBodyStream: Sendable {
    public typealias Chunks = AsyncThrowingStream<[UInt8], any Error>

    public let chunks: Chunks

    public init(_ chunks: Chunks) { self.chunks = chunks }

    /// A body whose chunks are made on demand: `produce` is called for each next chunk, after
    /// the previous one is written; it returns nil at the end.
    public init(unfolding produce: @escaping @Sendable () async throws -> [UInt8]?) {
        chunks = Chunks(unfolding: produce)
    }

    /// A body stream and the continuation that feeds it (`yield` chunks, then `finish()`).
    public static func makeStream() -> (stream: HTTPBodyStream, continuation: Chunks.Continuation) {
        let (chunks, continuation) = Chunks.makeStream()
        return (HTTPBodyStream(chunks), continuation)
    }
}
