import Dispatch
import Synchronization

/// An upstream that answers one request with its head and a first piece of body, then waits
/// for the test to say it received that piece (`release()`), or for a long fallback, before it
/// writes the rest. A client (or proxy) that delivers the first piece only after the rest was
/// written did not stream, and `release()` tells: no clock is read, nothing is timed.
package final class GatedStreamServer: Sendable {
    package let server: RawTCPServer
    private let gate = DispatchSemaphore(value: 0)
    private let wroteRest = Flag()
    /// The request the upstream read (head and body), once it has.
    private let request = Received()

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private final class Received: Sendable {
        let value = Mutex<(head: String, body: [UInt8])?>(nil)
    }

    /// `head` is the status line and header lines (each ending CRLF); `first` and `rest` are
    /// written raw after the blank line. With `closeAfter` the connection closes after `rest`.
    package init(head: String, first: String, rest: String, closeAfter: Bool = false) throws {
        let gate = gate
        let wroteRest = wroteRest
        let request = request
        server = try RawTCPServer { connection in
            guard let received = connection.readRequest() else { return }
            request.value.withLock { $0 = received }
            connection.write(head + "\r\n" + first)
            _ = gate.wait(timeout: .now() + 30)
            wroteRest.value.store(true, ordering: .relaxed)
            connection.write(rest)
            if closeAfter { return }
            _ = connection.readRequest()  // keep-alive: the next request, or the client's close
        }
    }

    /// Lets the upstream write the rest; returns whether it had not written it yet (true when
    /// the first piece was passed on as it came).
    package func release() -> Bool {
        let early = !wroteRest.value.load(ordering: .relaxed)
        gate.signal()
        return early
    }

    package var port: Int { server.port }
    package var received: (head: String, body: [UInt8])? { request.value.withLock { $0 } }

    package func stop() {
        gate.signal()
        server.stop()
    }

    /// Server-sent events, chunked.
    package static let sseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"

    /// One chunk of a chunked body.
    package static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }
}
