#if canImport(Glibc)
import Glibc
#endif
import KieWatchRuntime
import Synchronization
import Testing

@Suite(.serialized)
struct SignalWatcherTests {
    @Test func signalWatcherDeliversASignal() async throws {
        let watcher = SignalWatcher(signals: [SIGUSR2])
        let received = ReceivedSignal()
        let waiting = Task {
            let signal = await watcher.wait()
            received.value.store(signal, ordering: .relaxed)
            return signal
        }
        // libdispatch arms the source asynchronously: repeat until it has seen one.
        for _ in 0..<500 where received.value.load(ordering: .relaxed) == 0 {
            kill(getpid(), SIGUSR2)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await waiting.value == SIGUSR2)
    }
}

private final class ReceivedSignal: Sendable {
    let value = Atomic<Int32>(0)
}
