import KieWatchCore

/// The fate of one task, drawn when it is created: how long each phase lasts, whether it
/// fails, and what happens to its callback.
///
/// Everything is drawn up front, in a fixed order and with a fixed number of draws whatever
/// the rates, so that changing one fault rate does not reshuffle the others: with the same
/// seed, `--fail-rate 0.1` and `--fail-rate 0.1 --drop-callbacks 0.1` fail the same tasks.
public struct FaultPlan: Sendable, Equatable {
    /// Simulated milliseconds (already divided by `speed`) in `waiting`, `queuing`, `generating`.
    public var waitingMillis: Int64
    public var queuingMillis: Int64
    public var generatingMillis: Int64
    /// The failure the task ends with, or nil for success.
    public var failure: TaskFailure?
    /// The callback is never sent.
    public var dropCallback: Bool
    /// Copies of the callback sent (1 normally, 2 or 3 when duplicated).
    public var callbackCopies: Int
    /// Simulated gap between successive copies, in milliseconds.
    public var duplicateGapMillis: Int64
    /// Extra delay before the first callback, in milliseconds (0 unless late).
    public var lateMillis: Int64
    /// The task completes at create and its callback is delivered before the create answer.
    public var early: Bool
    /// Reported with the older field spellings (see `SimulatorConfiguration.legacyPayloadRate`).
    public var legacyPayload: Bool
    /// Once ended, the status call answers this body code (`501`, `408`) with no record, and
    /// `failure` carries the same code (see `SimulatorConfiguration.statusFaultRate`).
    public var statusFault: Int? = nil

    /// Makes the task end with a status answer of body `code` (501 or 408, Kie's terminal
    /// status codes) and a failure of that code.
    mutating func failStatus(with code: Int, family: TaskFamily) {
        statusFault = code
        failure = TaskFailure.statusFault(code, family: family)
    }

    /// Draws a plan. Rates of the callback faults apply only when there is a callback to fault,
    /// but the draws are made either way to keep the stream aligned.
    static func draw(
        profile: ModelProfile, family: TaskFamily, hasCallback: Bool, configuration c: SimulatorConfiguration,
        random: inout SeededRandom
    ) -> FaultPlan {
        func scaled(_ seconds: Double) -> Int64 { Int64((seconds * 1000 / c.speed).rounded()) }
        let waiting = scaled(random.logNormal(percentile5to95: ModelProfile.waitingSeconds))
        let queuing = scaled(random.logNormal(percentile5to95: ModelProfile.queuingSeconds))
        let generating = scaled(random.logNormal(percentile5to95: profile.generationSeconds))
        let fails = random.chance(c.failureRate)
        let failureIndex = random.integer(in: 0...(TaskFailure.catalogue(for: family).count - 1))
        let drop = random.chance(c.dropCallbackRate)
        let duplicate = random.chance(c.duplicateCallbackRate)
        let extraCopies = random.integer(in: 1...2)
        let gap = scaled(random.uniform(in: 1...30))
        let late = random.chance(c.lateCallbackRate)
        let lateSeconds = random.uniform(
            in: Double(c.lateCallbackDelay.lowerBound.milliseconds) / 1000...Double(c.lateCallbackDelay.upperBound.milliseconds) / 1000)
        let early = random.chance(c.earlyCallbackRate)
        let legacy = random.chance(c.legacyPayloadRate)

        let faultable = hasCallback
        let isDropped = faultable && drop
        let isEarly = faultable && !isDropped && early
        return FaultPlan(
            waitingMillis: waiting,
            queuingMillis: queuing,
            generatingMillis: generating,
            failure: fails ? TaskFailure.catalogue(for: family)[failureIndex] : nil,
            dropCallback: isDropped,
            callbackCopies: faultable && !isDropped && duplicate ? 1 + extraCopies : 1,
            duplicateGapMillis: gap,
            lateMillis: faultable && !isDropped && !isEarly && late ? scaled(lateSeconds) : 0,
            early: isEarly,
            legacyPayload: legacy)
    }
}
