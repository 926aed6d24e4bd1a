/// Why a request was refused before reaching the handler. Each case maps to one status code,
/// and every one of them closes the connection (after a parse error the framing of whatever
/// follows cannot be trusted).
public enum HTTPParseError: Error, Sendable, Equatable {
    /// 400: the request line is not `METHOD SP target SP HTTP/x.y`, or its bytes are not allowed.
    case invalidRequestLine
    /// 400: a header line without `name:`, a name with bytes outside the token set, or
    /// whitespace before the colon (a request-smuggling vector).
    case invalidHeaderName
    /// 400: control bytes or invalid UTF-8 in a header value.
    case invalidHeaderValue
    /// 400: a line starting with whitespace (obsolete line folding).
    case obsoleteLineFolding
    /// 400: a lone CR or LF where CRLF is required.
    case invalidLineEnding
    /// 400: both `Content-Length` and `Transfer-Encoding` (the classic smuggling vector).
    case contentLengthWithTransferEncoding
    /// 400: a `Content-Length` that is not digits, or several that differ.
    case invalidContentLength
    /// 400: a `Transfer-Encoding` list that is not exactly `chunked`, or one in an HTTP/1.0 request.
    case invalidTransferEncoding
    /// 400: a chunk size that is not hex, too long, or followed by garbage; a chunk without CRLF.
    case invalidChunk
    /// 400: more than one `Host` header.
    case multipleHosts
    /// 413: the body is larger than `maxBodyBytes` (announced or received).
    case bodyTooLarge
    /// 414: the request target is longer than `maxTargetBytes`.
    case targetTooLong
    /// 431: the head (request line + headers, or trailers) is larger than `maxHeaderBytes`.
    case headerTooLarge
    /// 431: more than `maxHeaderCount` header fields.
    case tooManyHeaders
    /// 417: an `Expect` other than `100-continue`.
    case expectationFailed
    /// 501: a transfer coding other than `chunked` (gzip, deflate, ...).
    case unsupportedTransferEncoding
    /// 505: an HTTP major version other than 1.
    case unsupportedVersion

    /// The status code the client receives.
    public var status: Int {
        switch self {
        case .invalidRequestLine, .invalidHeaderName, .invalidHeaderValue, .obsoleteLineFolding,
            .invalidLineEnding, .contentLengthWithTransferEncoding, .invalidContentLength,
            .invalidTransferEncoding, .invalidChunk, .multipleHosts:
            400
        case .bodyTooLarge: 413
        case .targetTooLong: 414
        case .headerTooLarge, .tooManyHeaders: 431
        case .expectationFailed: 417
        case .unsupportedTransferEncoding: 501
        case .unsupportedVersion: 505
        }
    }

    /// Whether this is a configured limit being hit (counted as "rejected by limit").
    public var isLimit: Bool {
        switch self {
        case .bodyTooLarge, .targetTooLong, .headerTooLarge, .tooManyHeaders: true
        default: false
        }
    }
}
