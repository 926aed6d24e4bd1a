import Dispatch
import Testing

@testable import KieWatchAgent

/// The relay worker's wake-up: no signal is ever lost, whatever the interleaving with the
/// wait's registration, its timeout or its cancellation. A lost signal shows as a wait with an
/// hour-long timeout that never returns (the time limit fails the test).
@Suite(.timeLimit(.minutes(1)))
struct WakeupTests {
    static let never: Duration = .seconds(3_600)

    @Test func aSignalBeforeTheWaitIsKept() async {
        let wakeup = Wakeup()
        wakeup.signal()
        #expect(await wakeup.wait(timeout: Self.never) == .signalled)
    }

    @Test func signalsBeforeAWaitCoalesceIntoOneWakeUp() async {
        let wakeup = Wakeup()
        wakeup.signal()
        wakeup.signal()
        wakeup.signal()
        #expect(await wakeup.wait(timeout: Self.never) == .signalled)
        #expect(await wakeup.wait(timeout: .zero) == .timedOut)
    }

    @Test func aSignalAfterATimedOutWaitIsKeptForTheNext() async {
        let wakeup = Wakeup()
        #expect(await wakeup.wait(timeout: .milliseconds(1)) == .timedOut)
        wakeup.signal()
        #expect(await wakeup.wait(timeout: Self.never) == .signalled)
    }

    @Test func aSignalWakesAWaitInProgress() async {
        let wakeup = Wakeup()
        let waiting = Task { await wakeup.wait(timeout: Self.never) }
        // Whether it lands before or after the waiter registers, it ends that wait.
        wakeup.signal()
        #expect(await waiting.value == .signalled)
    }

    @Test func cancellingTheWaiterEndsTheWaitAndKeepsLaterSignals() async {
        let wakeup = Wakeup()
        let waiting = Task { await wakeup.wait(timeout: Self.never) }
        waiting.cancel()
        let outcome = await waiting.value
        // A cancel that came before the waiter registered is remembered for that wait.
        #expect(outcome == .cancelled)
        wakeup.signal()
        #expect(await wakeup.wait(timeout: Self.never) == .signalled)
    }

    /// Many rounds of a signal from another thread racing a wait whose timeout is about as
    /// short: whichever wins, the signal is delivered exactly once, by that wait or the next.
    @Test func everySignalRacingATimeoutIsDeliveredExactlyOnce() async {
        let wakeup = Wakeup()
        var woken = 0
        var late = 0
        for round in 0..<3_000 {
            DispatchQueue.global().async { wakeup.signal() }
            let timeout: Duration = .microseconds(round % 4 == 0 ? 0 : (round % 7) * 20)
            if await wakeup.wait(timeout: timeout) == .signalled {
                woken += 1
            } else {
                #expect(await wakeup.wait(timeout: Self.never) == .signalled, "round \(round): signal lost")
                late += 1
            }
            #expect(await wakeup.wait(timeout: .zero) == .timedOut, "round \(round): one signal woke two waits")
        }
        #expect(woken + late == 3_000)
    }

    /// A signal racing the cancellation of the wait: it ends that wait or stays pending.
    @Test func everySignalRacingACancellationIsDeliveredOnce() async {
        let wakeup = Wakeup()
        for round in 0..<1_000 {
            let waiting = Task { await wakeup.wait(timeout: Self.never) }
            DispatchQueue.global().async { wakeup.signal() }
            waiting.cancel()
            if await waiting.value != .signalled {
                #expect(await wakeup.wait(timeout: Self.never) == .signalled, "round \(round): signal lost")
            }
            #expect(await wakeup.wait(timeout: .zero) == .timedOut, "round \(round): one signal woke two waits")
        }
    }
}
