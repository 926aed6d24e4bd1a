import Foundation
import KieWatchCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `HTTPTransport` over `URLSession`, for `https://` (Kie's API): TLS is the toolchain's job,
/// not ours. Errors are mapped to the same `HTTPClientError` cases as the socket client so the
/// proxy answers the same way whichever transport failed. Redirects are not followed: a proxy
/// passes them through. A streamed answer (`send(_:timeout:streamWhen:)`) is fed by the
/// session's delegate as the data arrives.
public final class URLSessionTransport: HTTPTransport, Sendable {
    public static let shared = URLSessionTransport()

    private let session: URLSession
    private let delegate = SessionDelegate()
    private let maxResponseBodyBytes: Int

    public init(maxResponseBodyBytes: Int = 16 * 1024 * 1024) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        self.maxResponseBodyBytes = maxResponseBodyBytes
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
        let urlRequest = try Self.urlRequest(request, timeout: timeout)
        let seconds = Double(timeout.clientNanoseconds) / 1e9

        // `timeoutInterval` is an inactivity timeout; the whole-exchange deadline is ours.
        // Cancelling the calling task cancels the data task, so a stopping agent is not held
        // by a call to Kie that hangs (the data task's completion then resumes with `cancelled`).
        let deadlinePassed = Atomic<Bool>(false)
        let dataTask = Mutex<URLSessionDataTask?>(nil)
        let result: Result<(Data, URLResponse), URLError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let task = session.dataTask(with: urlRequest) { data, response, error in
                    if let data, let response {
                        continuation.resume(returning: .success((data, response)))
                    } else {
                        continuation.resume(returning: .failure((error as? URLError) ?? URLError(.unknown)))
                    }
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak task] in
                    deadlinePassed.store(true, ordering: .relaxed)
                    task?.cancel()
                }
                dataTask.withLock { $0 = task }
                task.resume()
                // Cancelled before the handler could see the data task: it saw nil and did nothing.
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            dataTask.withLock { $0 }?.cancel()
        }
        switch result {
        case .failure(let error):
            if error.code == .cancelled, deadlinePassed.load(ordering: .relaxed) { throw .timeout }
            throw Self.map(error)
        case .success(let (data, response)):
            guard let http = response as? HTTPURLResponse else { throw .malformedResponse("not an HTTP response") }
            if data.count > maxResponseBodyBytes { throw .responseTooLarge }
            return HTTPResponse(status: http.statusCode, headers: Self.headers(http), body: [UInt8](data))
        }
    }

    /// The session's delegate hands the head to `streamWhen`, then either the data as it comes
    /// (`bodyStream`, buffered in the stream: URLSession does not wait for a slow reader) or
    /// the whole body. Before the head, and for a body read whole, `timeout` is the deadline
    /// of the exchange; between pieces of a streamed body it is URLSession's inactivity timeout.
    /// A consumer that leaves cancels the task, and so does cancelling the calling task before
    /// the answer is there.
    public func send(
        _ request: HTTPClientRequest, timeout: Duration, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse {
        let urlRequest = try Self.urlRequest(request, timeout: timeout)
        let seconds = Double(timeout.clientNanoseconds) / 1e9
        let dataTask = Mutex<URLSessionDataTask?>(nil)
        let result: Result<HTTPResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let task = session.dataTask(with: urlRequest)
                let exchange = StreamingExchange(
                    task: task, streamWhen: streamWhen, maxBodyBytes: maxResponseBodyBytes, owner: self,
                    continuation: continuation)
                delegate.register(exchange, for: task)
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { exchange.deadlinePassed() }
                dataTask.withLock { $0 = task }
                task.resume()
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            dataTask.withLock { $0 }?.cancel()
        }
        return try result.get()
    }

    private static func urlRequest(_ request: HTTPClientRequest, timeout: Duration) throws(HTTPClientError) -> URLRequest {
        guard let url = URL(string: request.url.description) else {
            throw .invalidURL(URLRedaction.redact(request.url.description))
        }
        let seconds = Double(timeout.clientNanoseconds) / 1e9
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        urlRequest.httpMethod = request.method
        for field in request.headers where !HTTPClientRequest.isFramingHeader(field.name) {
            urlRequest.addValue(field.value, forHTTPHeaderField: field.name)
        }
        // The URL built above has no user info: its credentials go in the header, as over our sockets.
        if let authorization = request.basicAuthorization {
            urlRequest.setValue(authorization, forHTTPHeaderField: "Authorization")
        }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        return urlRequest
    }

    static func headers(_ http: HTTPURLResponse) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in http.allHeaderFields {
            headers.add(String(describing: name), String(describing: value))
        }
        return headers
    }

    /// `URLError` codes to the client's cases; anything else is a failure to reach the server.
    static func map(_ error: URLError) -> HTTPClientError {
        switch error.code {
        case .timedOut: .timeout
        case .networkConnectionLost: .connectionReset
        case .badServerResponse, .cannotParseResponse, .cannotDecodeRawData, .cannotDecodeContentData,
            .zeroByteResource:
            .malformedResponse(error.localizedDescription)
        case .dataLengthExceedsMaximum: .responseTooLarge
        case .badURL: .invalidURL(URLRedaction.redact(error.failingURL?.absoluteString ?? ""))
        case .unsupportedURL: .unsupportedScheme(error.failingURL?.scheme ?? "")
        case .cancelled: .cancelled
        default: .connectFailed(errno: 0, message: "\(error.localizedDescription) (URLError \(error.code.rawValue))")
        }
    }
}

/// Declines every redirect so the caller sees the 3xx itself, and feeds the exchanges started
/// by `send(_:timeout:streamWhen:)` (tasks with a completion handler never reach the data
/// callbacks).
private final class SessionDelegate: NSObject, URLSessionDataDelegate, Sendable {
    private let exchanges = Mutex<[Int: StreamingExchange]>([:])

    func register(_ exchange: StreamingExchange, for task: URLSessionTask) {
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
    }

    private func exchange(_ task: URLSessionTask) -> StreamingExchange? {
        exchanges.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        exchange(dataTask)?.received(response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        exchange(dataTask)?.received(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let exchange = exchanges.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        exchange?.completed(error)
    }
}

/// One exchange of `send(_:timeout:streamWhen:)`, driven by the session's delegate queue and
/// by its deadline.
private final class StreamingExchange: Sendable {
    private enum State {
        case awaitingHead(CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>)
        case buffering(CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>, HTTPResponse)
        case streaming(HTTPBodyStream.Chunks.Continuation)
        case done
    }

    private let task: URLSessionDataTask
    /// Kept alive until the body is read: its deinit cancels the session's tasks.
    private let owner: URLSessionTransport
    private let streamWhen: @Sendable (Int, HTTPHeaders) -> Bool
    private let maxBodyBytes: Int
    private let state: Mutex<State>
    private let timedOut = Atomic<Bool>(false)

    init(
        task: URLSessionDataTask, streamWhen: @escaping @Sendable (Int, HTTPHeaders) -> Bool, maxBodyBytes: Int,
        owner: URLSessionTransport, continuation: CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>
    ) {
        self.task = task
        self.owner = owner
        self.streamWhen = streamWhen
        self.maxBodyBytes = maxBodyBytes
        state = Mutex(.awaitingHead(continuation))
    }

    func received(_ response: URLResponse) {
        guard let http = response as? HTTPURLResponse else {
            fail(.malformedResponse("not an HTTP response"))
            return
        }
        var head = HTTPResponse(status: http.statusCode, headers: URLSessionTransport.headers(http))
        guard streamWhen(head.status, head.headers) else {
            state.withLock { state in
                if case .awaitingHead(let continuation) = state { state = .buffering(continuation, head) }
            }
            return
        }
        let (stream, continuation) = HTTPBodyStream.makeStream()
        let task = self.task
        continuation.onTermination = { _ in task.cancel() }
        head.bodyStream = stream
        let waiting = state.withLock { state -> CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>? in
            guard case .awaitingHead(let waiting) = state else { return nil }
            state = .streaming(continuation)
            return waiting
        }
        waiting?.resume(returning: .success(head))
    }

    func received(_ data: Data) {
        let tooLarge = state.withLock { state -> CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>? in
            switch state {
            case .streaming(let continuation):
                continuation.yield([UInt8](data))
            case .buffering(let waiting, var head):
                guard head.body.count + data.count <= maxBodyBytes else {
                    state = .done
                    return waiting
                }
                state = .done  // drop the copy held in the state while appending
                head.body.append(contentsOf: data)
                state = .buffering(waiting, head)
            case .awaitingHead, .done:
                break
            }
            return nil
        }
        if let tooLarge {
            task.cancel()
            tooLarge.resume(returning: .failure(.responseTooLarge))
        }
    }

    func completed(_ error: (any Error)?) {
        let failure = error.map { error -> HTTPClientError in
            let urlError = (error as? URLError) ?? URLError(.unknown)
            if urlError.code == .cancelled, timedOut.load(ordering: .relaxed) { return .timeout }
            return URLSessionTransport.map(urlError)
        }
        let previous = state.withLock { state -> State in
            defer { state = .done }
            return state
        }
        switch previous {
        case .awaitingHead(let waiting):
            waiting.resume(returning: .failure(failure ?? .malformedResponse("no response")))
        case .buffering(let waiting, let head):
            waiting.resume(returning: failure.map { .failure($0) } ?? .success(head))
        case .streaming(let continuation):
            if let failure { continuation.finish(throwing: failure) } else { continuation.finish() }
        case .done:
            break
        }
    }

    /// Before the head, or while a whole body is read, the deadline ends the exchange.
    func deadlinePassed() {
        let pending = state.withLock { state -> Bool in
            switch state {
            case .awaitingHead, .buffering: true
            case .streaming, .done: false
            }
        }
        guard pending else { return }
        timedOut.store(true, ordering: .relaxed)
        task.cancel()
    }

    private func fail(_ error: HTTPClientError) {
        let waiting = state.withLock { state -> CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>? in
            defer { state = .done }
            if case .awaitingHead(let waiting) = state { return waiting }
            return nil
        }
        task.cancel()
        waiting?.resume(returning: .failure(error))
    }
}
