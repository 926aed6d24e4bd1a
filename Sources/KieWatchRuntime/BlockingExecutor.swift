import Dispatch

/// A serial queue of its own for one owner's blocking calls (its SQLite reads, a wait for
/// threads to end), so they never run on Swift's cooperative pool, whose few threads must not
/// block: the caller suspends while the queue's thread runs the call, then resumes with its
/// result. A serial queue gets a thread at once (a concurrent one would share Dispatch's
/// throttled pool), and runs its owner's calls in order, one at a time.
package final class BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    package init(label: String) {
        queue = DispatchQueue(label: label)
    }

    package func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
            queue.async {
                continuation.resume(returning: Result { () throws(E) -> T in try body() })
            }
        }
        return try result.get()
    }
}
