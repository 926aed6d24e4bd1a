import Foundation
import KieWatchCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `HTTPTransport` over `URLSession`, for `https://` (Kie's API): TLS is the toolchain's job,
/// not ours. Errors are mapped to the same `HTTPClientError` cases as the socket client so the
/// proxy answers the same way whichever transport failed. Redirects are not followed: a proxy
/// passes them through.
public final class URLSessionTransport: HTTPTransport, Sendable {
    public static let shared = URLSessionTransport()

    private let session: URLSession
    private let maxResponseBodyBytes: Int

    public init(maxResponseBodyBytes: Int = 16 * 1024 * 1024) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
        self.maxResponseBodyBytes = maxResponseBodyBytes
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: HTTPClientRequest, timeout: Duration) async throws(HTTPClientError) -> HTTPResponse {
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
            var headers = HTTPHeaders()
            for (name, value) in http.allHeaderFields {
                headers.add(String(describing: name), String(describing: value))
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: [UInt8](data))
        }
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

/// Declines every redirect so the caller sees the 3xx itself.
private final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
