#if canImport(Glibc)
import Glibc
#endif

/// An IPv4, IPv6 or Unix-domain socket address, stored as `sockaddr_storage` so it can be
/// handed to `bind`/`connect` without caring about the family.
package struct SocketAddress: Sendable, CustomStringConvertible {
    package var storage: sockaddr_storage
    package var length: socklen_t

    package var family: Int32 { Int32(storage.ss_family) }

    /// The address to listen on for `host` (`127.0.0.1`, `::1`, `[::1]`, `localhost`, `0.0.0.0`,
    /// empty = any) and `port`: the first `getaddrinfo` answer. Blocking: call at startup, not on
    /// an event loop.
    package static func resolve(host: String, port: Int) throws(HTTPServerError) -> SocketAddress {
        try resolveAll(host: host, port: port, passive: true)[0]
    }

    /// Every IPv4 and IPv6 address of `host:port`, in the resolver's order (`::1` before
    /// `127.0.0.1` for `localhost`), for a client to try in turn; never empty. `passive` asks for
    /// addresses to bind (an empty host is then the wildcard address). Blocking: unless
    /// `resolvesLocally(host)`, DNS may take seconds.
    package static func resolveAll(host: String, port: Int, passive: Bool = false) throws(HTTPServerError)
        -> [SocketAddress]
    {
        guard (0...65535).contains(port) else {
            throw HTTPServerError(code: .addressResolution, message: "port out of range", context: "\(port)")
        }
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = name.isEmpty
            ? getaddrinfo(nil, String(port), &hints, &list)
            : getaddrinfo(name, String(port), &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        var addresses: [SocketAddress] = []
        var cursor = rc == 0 ? list : nil
        while let info = cursor?.pointee {
            if let addr = info.ai_addr, info.ai_family == AF_INET || info.ai_family == AF_INET6 {
                var address = SocketAddress(storage: sockaddr_storage(), length: info.ai_addrlen)
                withUnsafeMutableBytes(of: &address.storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: Int(info.ai_addrlen)))
                }
                addresses.append(address)
            }
            cursor = info.ai_next
        }
        guard !addresses.isEmpty else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw HTTPServerError(
                code: .addressResolution, message: "cannot resolve host: \(reason)", context: "\(host):\(port)")
        }
        return addresses
    }

    /// Whether `host` resolves without a DNS query (an IP literal or `localhost`), so that
    /// `resolveAll` can run inline on the caller's thread.
    package static func resolvesLocally(_ host: String) -> Bool {
        if host == "localhost" || host.contains(":") { return true }
        return host.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }
    }

    /// A Unix-domain address for `path`; fails if the path does not fit in `sun_path`.
    package static func unix(path: String) throws(HTTPServerError) -> SocketAddress {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw HTTPServerError(
                code: .invalidAddress, message: "unix socket path must be 1...\(capacity - 1) bytes",
                context: path)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            dst.copyBytes(from: bytes)
            dst[bytes.count] = 0
        }
        var result = SocketAddress(
            storage: sockaddr_storage(),
            length: socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1))
        withUnsafeMutableBytes(of: &result.storage) { dst in
            withUnsafeBytes(of: addr) { dst.copyMemory(from: $0) }
        }
        return result
    }

    package init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Calls `body` with the address as a `sockaddr` pointer, as the socket calls want it.
    @discardableResult
    package func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let length = self.length
        return try withUnsafePointer(to: &copy) { (pointer) throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(E) -> R in
                try body(sa, length)
            }
        }
    }

    /// The address a call like `accept` or `getsockname` writes: `body` gets the `sockaddr` and
    /// length pointers to fill, and its result comes back with the address.
    package static func filled<R, E: Error>(
        by body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(E) -> R
    ) throws(E) -> (R, SocketAddress) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(E) -> R in
                try body(sa, &length)
            }
        }
        return (result, SocketAddress(storage: storage, length: length))
    }

    /// The port of an IP address, 0 otherwise.
    package var port: Int {
        var copy = storage
        switch family {
        case AF_INET:
            return withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
        default: return 0
        }
    }

    /// `127.0.0.1:8080`, `[::1]:8080` or `unix:/path`: what goes into logs and `remoteAddress`.
    package var description: String {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch family {
        case AF_INET:
            withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                }
            }
            return "\(Self.string(text)):\(port)"
        case AF_INET6:
            withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                }
            }
            return "[\(Self.string(text))]:\(port)"
        case AF_UNIX:
            let path = withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { sun in
                    withUnsafeBytes(of: sun.pointee.sun_path) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
            }
            return "unix:\(path)"
        default:
            return "unknown"
        }
    }

    private static func string(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
