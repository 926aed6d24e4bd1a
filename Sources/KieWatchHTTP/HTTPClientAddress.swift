#if canImport(Glibc)
import Glibc
#endif

/// A resolved socket address (IPv4 or IPv6), stored by value so it can be cached and shared.
struct HTTPClientAddress: Sendable {
    private var storage = sockaddr_storage()
    private(set) var length: socklen_t = 0

    var family: Int32 { Int32(storage.ss_family) }

    init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        self.length = length
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Whether `host` can be resolved without a DNS query (IP literal or `localhost`), so
    /// `resolve` can run inline on the caller's thread.
    static func resolvesLocally(_ host: String) -> Bool {
        if host == "localhost" || host.contains(":") { return true }
        return host.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }
    }

    /// `getaddrinfo` for a TCP host and port, in the resolver's order (`::1` before `127.0.0.1`
    /// for `localhost`); the caller tries each in turn. Blocking: run it off the cooperative pool
    /// unless `resolvesLocally(host)`.
    static func resolve(host: String, port: Int) throws(HTTPClientError) -> [HTTPClientAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let message = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw .connectFailed(errno: 0, message: "cannot resolve \(host): \(message)")
        }
        defer { freeaddrinfo(first) }
        var out: [HTTPClientAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let addr = info.pointee.ai_addr,
                info.pointee.ai_family == AF_INET || info.pointee.ai_family == AF_INET6
            {
                out.append(HTTPClientAddress(addr, length: info.pointee.ai_addrlen))
            }
            cursor = info.pointee.ai_next
        }
        guard !out.isEmpty else { throw .connectFailed(errno: 0, message: "cannot resolve \(host): no address") }
        return out
    }
}
