import Foundation
import KieWatchTestSupport
import Synchronization

/// A real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1 with its state in a
/// temporary directory and clustering off (no gossip listener on 0.0.0.0:9094); queried
/// through its v2 API.
final class LiveAlertmanager {
    let process: LiveProcess
    let port: Int
    let directory: LiveTemporaryDirectory

    private init(process: LiveProcess, port: Int, directory: LiveTemporaryDirectory) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts Alertmanager with `configuration` (an `alertmanager.yml`) and waits until
    /// `/-/ready` answers 200.
    static func start(configuration: String) async throws -> LiveAlertmanager {
        guard let binary = ExternalTools.alertmanager else {
            throw LiveError("prometheus-alertmanager not found; apt-get install prometheus-alertmanager")
        }
        let directory = try LiveTemporaryDirectory("kw-am")
        do {
            let config = directory.file("alertmanager.yml")
            try configuration.write(to: config, atomically: true, encoding: .utf8)
            let (data, log) = (directory.file("data"), directory.file("alertmanager.log"))
            let (process, port) = try await LiveProcess.startListening { port in
                try await LiveProcess.start(
                    name: "alertmanager", executable: binary,
                    arguments: [
                        "--config.file=\(config.path)", "--storage.path=\(data.path)",
                        "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
                    ],
                    logFile: log, readyLine: "msg=\"Listening on\"")
            }
            let alertmanager = LiveAlertmanager(process: process, port: port, directory: directory)
            try await LiveWait.ready("alertmanager", port: port)
            return alertmanager
        } catch {
            directory.remove()
            throw error
        }
    }

    func stop() {
        process.stop()
        directory.remove()
    }

    /// One alert as `GET /api/v2/alerts` shows it.
    struct Alert {
        var labels: [String: String]
        /// `active`, `suppressed` (silenced or inhibited) or `unprocessed`.
        var state: String
        /// Fingerprints of the alerts inhibiting this one.
        var inhibitedBy: [String]
    }

    /// Every alert Alertmanager holds: active, silenced and inhibited ones alike.
    func alerts() throws -> [Alert] {
        let response = try LiveHTTP.request("GET", port: port, path: "/api/v2/alerts")
        guard response.status == 200, let list = try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
            throw LiveError("GET /api/v2/alerts: HTTP \(response.status) \(response.text.prefix(500))")
        }
        return list.map { alert in
            let status = alert["status"] as? [String: Any] ?? [:]
            return Alert(
                labels: alert["labels"] as? [String: String] ?? [:], state: status["state"] as? String ?? "?",
                inhibitedBy: status["inhibitedBy"] as? [String] ?? [])
        }
    }
}

/// The person's end: an HTTP server on 127.0.0.1 that Alertmanager's webhook receiver posts
/// to (`POST /alerts`, Alertmanager's webhook JSON, version 4); keeps every notification.
final class LiveAlertReceiver: Sendable {
    private final class Inbox: Sendable { let bodies = Mutex<[Data]>([]) }

    private let server: RawTCPServer
    private let inbox = Inbox()

    init() throws {
        let inbox = self.inbox
        server = try RawTCPServer.keepAlive { head, body in
            if head.hasPrefix("POST /alerts ") { inbox.bodies.withLock { $0.append(Data(body)) } }
            return RawTCPServer.response(status: 200)
        }
    }

    var url: String { "http://127.0.0.1:\(server.port)/alerts" }

    func stop() { server.stop() }

    /// One webhook notification: a group of alerts sent to one receiver.
    struct Notification {
        struct Alert {
            var status: String
            var labels: [String: String]
            var annotations: [String: String]
        }

        var receiver: String
        /// `firing` or `resolved`.
        var status: String
        var alerts: [Alert]
    }

    /// The notifications received so far, oldest first; a body that is not the webhook JSON
    /// is an error naming it.
    func notifications() throws -> [Notification] {
        try inbox.bodies.withLock { $0 }.map { body in
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let alerts = object["alerts"] as? [[String: Any]]
            else {
                throw LiveError("not an Alertmanager webhook notification: \(String(decoding: body, as: UTF8.self).prefix(500))")
            }
            return Notification(
                receiver: object["receiver"] as? String ?? "?", status: object["status"] as? String ?? "?",
                alerts: alerts.map { alert in
                    Notification.Alert(
                        status: alert["status"] as? String ?? "?", labels: alert["labels"] as? [String: String] ?? [:],
                        annotations: alert["annotations"] as? [String: String] ?? [:])
                })
        }
    }

    /// Firing alerts received so far, over all notifications.
    func firingAlerts() throws -> [Notification.Alert] {
        try notifications().flatMap(\.alerts).filter { $0.status == "firing" }
    }
}
