/// How one family's payloads are written: where the agent puts each field of a callback it
/// synthesizes after recovering a task, and where the simulator puts them in the status
/// answers and callbacks it sends. Reading is the table's tolerant field lists
/// (`TaskFamily.states`, `statusResults`, ...); writing is one spelling, Kie's documented one.
public struct WireShape: Sendable {
    /// The task id in a status answer's `data` and in a callback's `data`.
    public var statusTaskID: FieldPath
    public var callbackTaskID: FieldPath
    /// The result URLs (an array, one string, or one object per URL: the path says which).
    public var statusResult: FieldPath
    public var callbackResult: FieldPath
    /// Writes the results as one string rather than an array (Flux's `resultImageUrl`).
    public var singleResult: Bool
    public var failCode: FieldPath
    public var failMessage: FieldPath
    /// The fail code is written as a JSON number when it is one (Runway's integer `failCode`,
    /// Veo's `errorCode`); market's `failCode` is a string.
    public var failCodeIsNumber: Bool
    /// Where a failure callback carries the failure's text besides `msg` (Suno's `data.error`).
    public var callbackFailMessage: FieldPath?
    public var createTime: FieldPath
    public var completeTime: FieldPath?
    public var times: TimeFormat
    /// Where the family reports the credits a task consumed, in status answers and callbacks
    /// (market `creditsConsumed`, Veo 4K's callback); nil for a family that reports none.
    public var credits: FieldPath?
    /// How the family reports progress while a task runs (market Sora: percent; GPT-4o image:
    /// a string fraction); nil for a family that reports none.
    public var progress: ProgressFormat?
    /// The callback's `msg` on success and on failure.
    public var successMessage: String
    public var failureMessage: String
    /// The callback's body code on failure, when the task's own fail code is not one the
    /// family's callbacks use (`failureCodes`).
    public var failureCode: Int
    public var failureCodes: Set<Int>
    /// The callback's `data` is the status record itself (market).
    public var callbackIsStatusRecord: Bool
    /// The callback names its task beside `data`, not in it (Runway Aleph's top-level `taskId`).
    public var callbackTaskIDOutsideData: Bool
    /// A failure callback carries `data: null` (Runway Aleph).
    public var failureDataIsNull: Bool
    /// Members a callback copies from the status record (Veo's `originUrls`, `resolution`).
    public var callbackCopies: [(from: FieldPath, to: FieldPath)]
    /// Members every callback carries with a fixed value (Veo's `fallbackFlag: false`).
    public var callbackConstants: [(path: FieldPath, value: JSONValue)]

    public enum TimeFormat: Sendable {
        /// Epoch milliseconds.
        case epochMillis
        /// `"YYYY-MM-DD HH:mm:ss"`, no zone (written as UTC; milliseconds are lost).
        case dateTime
        /// `"YYYY-MM-DDTHH:mm:ss.sssZ"`.
        case iso8601
    }

    public enum ProgressFormat: Sendable {
        /// A number 0-100 (`"progress": 45`).
        case percent
        /// A string fraction 0-1 with two decimals (`"progress": "0.45"`).
        case fraction
    }

    public init(
        statusTaskID: FieldPath = "taskId", callbackTaskID: FieldPath = "taskId", statusResult: FieldPath,
        callbackResult: FieldPath, singleResult: Bool = false, failCode: FieldPath = "errorCode",
        failMessage: FieldPath = "errorMessage", failCodeIsNumber: Bool = true, callbackFailMessage: FieldPath? = nil,
        createTime: FieldPath = "createTime", completeTime: FieldPath? = "completeTime", times: TimeFormat = .epochMillis,
        credits: FieldPath? = nil, progress: ProgressFormat? = nil, successMessage: String,
        failureMessage: String, failureCode: Int = 500, failureCodes: Set<Int> = [400, 500, 501],
        callbackIsStatusRecord: Bool = false, callbackTaskIDOutsideData: Bool = false, failureDataIsNull: Bool = false,
        callbackCopies: [(from: FieldPath, to: FieldPath)] = [],
        callbackConstants: [(path: FieldPath, value: JSONValue)] = []
    ) {
        self.statusTaskID = statusTaskID
        self.callbackTaskID = callbackTaskID
        self.statusResult = statusResult
        self.callbackResult = callbackResult
        self.singleResult = singleResult
        self.failCode = failCode
        self.failMessage = failMessage
        self.failCodeIsNumber = failCodeIsNumber
        self.callbackFailMessage = callbackFailMessage
        self.createTime = createTime
        self.completeTime = completeTime
        self.times = times
        self.credits = credits
        self.progress = progress
        self.successMessage = successMessage
        self.failureMessage = failureMessage
        self.failureCode = failureCode
        self.failureCodes = failureCodes
        self.callbackIsStatusRecord = callbackIsStatusRecord
        self.callbackTaskIDOutsideData = callbackTaskIDOutsideData
        self.failureDataIsNull = failureDataIsNull
        self.callbackCopies = callbackCopies
        self.callbackConstants = callbackConstants
    }

    /// A time as this family writes it.
    public func time(_ millis: EpochMillis) -> JSONValue {
        switch times {
        case .epochMillis: .int(millis)
        case .dateTime: .string(Self.dateTimeText(millis))
        case .iso8601: .string(Self.iso8601Text(millis))
        }
    }

    /// `"YYYY-MM-DD HH:mm:ss"` in UTC (Veo's and Runway's zone-less times).
    public static func dateTimeText(_ millis: EpochMillis) -> String { dateTime(millis, separator: " ", suffix: "") }

    /// `"YYYY-MM-DDTHH:mm:ss.SSSZ"`.
    public static func iso8601Text(_ millis: EpochMillis) -> String {
        dateTime(millis, separator: "T", suffix: "." + milliseconds(millis) + "Z")
    }

    /// A fail code as this family writes it: a number when it is one and the family's is.
    public func failCodeValue(_ code: String?) -> JSONValue {
        guard let code else { return .null }
        if failCodeIsNumber, let n = Int64(code), String(n) == code { return .int(n) }
        return .string(code)
    }

    /// Progress (0-100) as this family writes it; nil for a family that reports none.
    public func progressValue(_ percent: Int) -> JSONValue? {
        let p = min(max(percent, 0), 100)
        switch progress {
        case nil: return nil
        case .percent: return .int(Int64(p))
        case .fraction: return .string("\(p / 100).\(p % 100 < 10 ? "0" : "")\(p % 100)")
        }
    }

    private static func milliseconds(_ millis: EpochMillis) -> String {
        let clamped = min(max(millis, TaskReport.plausibleTimes.lowerBound), TaskReport.plausibleTimes.upperBound)
        return CivilTime.padded(clamped % 1000, 3)
    }

    /// The result URLs as this family writes them at `path`.
    public func results(_ urls: [String]) -> JSONValue {
        if singleResult { return urls.first.map(JSONValue.string) ?? .null }
        return .array(urls.map(JSONValue.string))
    }

    /// `YYYY-MM-DD<sep>HH:mm:ss<suffix>` in UTC, within `TaskReport.plausibleTimes`.
    static func dateTime(_ millis: EpochMillis, separator: String, suffix: String) -> String {
        let c = CivilTime.fields(min(max(millis, TaskReport.plausibleTimes.lowerBound), TaskReport.plausibleTimes.upperBound))
        let p = CivilTime.padded
        return "\(p(c.year, 4))-\(p(c.month, 2))-\(p(c.day, 2))\(separator)\(p(c.hour, 2)):\(p(c.minute, 2)):\(p(c.second, 2))\(suffix)"
    }
}
