import Foundation
import KieWatchHTTP

/// The agent's resident memory once idle after proxied calls over HTTPS (target <= 30 MB, as
/// for any idle agent): the first HTTPS call loads libcurl's TLS stack and the CA bundle, which
/// stay. The upstream is `openssl s_server` on loopback with a throwaway certificate; the agent
/// runs in a mount namespace (`unshare -m`, root) whose CA bundle is the system's plus that
/// certificate, so the exchanges succeed and the whole bundle is loaded, as against Kie.
/// Without root, the handshake is refused after loading the system bundle, which says so.
func runHTTPSMemoryBenchmark(calls: Int) async throws {
    let systemBundle = "/etc/ssl/certs/ca-certificates.crt"
    guard runTool(["openssl", "version"]) else {
        print("  skipped: needs the openssl command (apt-get install -y openssl)")
        return
    }
    let directory = try benchDirectory("https")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let key = directory + "/key.pem", certificate = directory + "/cert.pem", bundle = directory + "/bundle.pem"
    guard runTool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                   "-keyout", key, "-out", certificate])
    else { throw BenchError("openssl req could not make a certificate") }
    let system = (try? Data(contentsOf: URL(fileURLWithPath: systemBundle))) ?? Data()
    try (system + Data(contentsOf: URL(fileURLWithPath: certificate))).write(to: URL(fileURLWithPath: bundle))

    let tlsPort = try freePort()
    let server = try startTool(["openssl", "s_server", "-accept", "127.0.0.1:\(tlsPort)", "-cert", certificate,
                                "-key", key, "-www", "-quiet"])
    defer {
        // SIGKILL: a child spawned from a thread that blocks SIGTERM (as the concurrency pool's
        // do) starts with it blocked, and s_server installs no handler that would unblock it.
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    // The namespace's bundle replaces the system one for the agent only.
    let mount = "mount --bind \"$0\" \(systemBundle)"
    let namespaced = runTool(["unshare", "-m", "sh", "-c", mount, bundle])
    let launcher = namespaced ? ["unshare", "-m", "sh", "-c", mount + " && exec \"$@\"", bundle] : []
    let port = try freePort()
    let agent = try KiewatchProcess(
        ["serve", "--listen", "127.0.0.1:\(port)", "--db", directory + "/kiewatch.db",
         "--admin-socket", directory + "/kiewatch.sock", "--upstream", "https://127.0.0.1:\(tlsPort)"],
        port: port, directory: directory, logName: "agent.log", launcher: launcher)
    defer { agent.stop() }
    let client = HTTPClient()
    try await agent.waitUntilReady(path: "/healthz", client: client)
    try await Task.sleep(for: .seconds(1))
    let before = agent.memory()

    var statuses: [Int: Int] = [:]
    for _ in 0..<calls {
        let request = try HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/chat/credit")
        let status = (try? await client.send(request, timeout: .seconds(10)))?.status ?? 0
        statuses[status, default: 0] += 1
    }
    // Long enough for the agent's idle trim (every 3 s, after a quiet tick) to have run.
    try await Task.sleep(for: .seconds(8))
    let after = agent.memory()
    let answered = statuses.sorted { $0.key < $1.key }.map { "\($0.value)x \($0.key)" }.joined(separator: ", ")
    print("  agent idle before any HTTPS call: resident \(before.described)")
    print("  \(calls) proxied calls over HTTPS (upstream answered: \(answered)"
          + (namespaced ? "; CA bundle: the system's plus the test certificate)"
                        : "; the certificate was refused: run as root for a trusted exchange)"))
    print("  agent idle after them: resident \(after.described) (target <= 30 MB)")
}
