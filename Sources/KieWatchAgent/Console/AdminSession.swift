#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import KieWatchConsole
import KieWatchCore
import KieWatchStore

/// One console client on the admin socket, on its own thread: read request lines, answer
/// each in order, until the client leaves, idles out, breaks the protocol or the server stops.
///
/// The session owns its `StoreReader` (opened at the first command, so a client that only
/// connects costs no connection) and its `SessionOptions` (the `.format`/`.color`/`.width`
/// directives). Not Sendable; it lives and dies on its thread.
final class AdminSession {
    private let server: AdminServer
    private let fd: Int32
    private let wake: Int32
    private var options = AdminProtocol.SessionOptions()
    private var commands: ConsoleCommands?
    private var input = LineBuffer(maxLineBytes: AdminProtocol.maxRequestBytes)

    init(server: AdminServer, fd: Int32, wake: Int32) {
        self.server = server
        self.fd = fd
        self.wake = wake
    }

    func run() {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            // Answer every complete line already buffered before reading more.
            let line: [UInt8]?
            do {
                line = try input.nextLine()
            } catch {
                _ = send(AdminProtocol.frame(
                    output: "request longer than \(AdminProtocol.maxRequestBytes) bytes; closing", status: .error))
                return
            }
            if let line {
                guard answer(line) else { return }
                continue
            }
            guard AdminSocket.waitReadable(fd, wake: wake, timeoutMillis: server.configuration.idleTimeoutMillis) else {
                return
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            guard count > 0 else { return }  // the client closed (or reset) the connection
            input.append(chunk[0..<count])
        }
    }

    /// Answers one request; false when the session must end (client gone, `quit`).
    private func answer(_ line: [UInt8]) -> Bool {
        switch AdminProtocol.parseRequest(line) {
        case .directive(let directive):
            options.apply(directive)
            return send(AdminProtocol.frame(output: "", status: .ok))
        case .invalid(let message):
            return send(AdminProtocol.frame(output: message, status: .error))
        case .command(let text):
            let answer = run(text)
            return send(AdminProtocol.frame(output: answer.output, status: answer.status)) && !answer.endsSession
        }
    }

    private func run(_ line: String) -> ConsoleAnswer {
        let commands: ConsoleCommands
        if let existing = self.commands {
            commands = existing
        } else {
            do {
                commands = ConsoleCommands(reader: try StoreReader(path: server.databasePath), clock: server.clock,
                                           actions: server.actions)
                self.commands = commands
            } catch {
                let message = (error as? StoreError).map { ConsoleCommands.oneLine($0) } ?? "\(error)"
                return ConsoleAnswer(status: .error, output: "cannot open the store: \(message)")
            }
        }
        if let answer = commands.answerWithoutWaiting(line, options: options) { return answer }
        return Self.waitFor(commands, line, options)
    }

    /// Runs an answer that awaits the agent (`sync`, `replay`, the relay actions) on the task
    /// executor while this session thread waits: the thread is ours, not the executor's, so
    /// blocking it is fine.
    private static func waitFor(
        _ commands: ConsoleCommands, _ line: String, _ options: AdminProtocol.SessionOptions
    ) -> ConsoleAnswer {
        let box = SessionHandoff(commands)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.answer = await box.commands.execute(line, options: options)
            done.signal()
        }
        done.wait()
        return box.answer ?? ConsoleAnswer(status: .error, output: "the command ended without an answer")
    }

    /// Sends a framed answer; false when the client is gone or would not read within the send
    /// timeout (the session then ends; the agent never waits longer than that on a console).
    private func send(_ bytes: [UInt8]) -> Bool {
        AdminSocket.sendAll(fd, bytes) == nil
    }
}

/// Carries a session's commands into the task that awaits the agent, and the answer back.
///
/// `@unchecked Sendable` because the session thread hands it over and then blocks on a
/// semaphore until the task has stored `answer` and signalled: the task and the thread never
/// touch it at the same time, and the semaphore orders the write before the read.
private final class SessionHandoff: @unchecked Sendable {
    let commands: ConsoleCommands
    var answer: ConsoleAnswer?

    init(_ commands: ConsoleCommands) {
        self.commands = commands
    }
}
