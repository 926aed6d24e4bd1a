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
    public var createTime: FieldPath
    public var completeTime: FieldPath?
    public var times: TimeFormat
    /// The callback's `msg` on success and on failure.
    public var successMessage: String
    public var failureMessage: String
    /// A failure callback's `msg` is the task's failure message when it has one (Veo); false
    /// for a family whose failure `msg` is always `failureMessage` (market).
    public var failureMessageFromTask: Bool
    /// The callback's body code on failure, when the task's own fail code is not one the
    /// family's callbacks use (`failureCodes`).
    public var failureCode: Int
    public var failureCodes: Set<Int>
    /// The callback's `data` is the status record itself (market).
    public var callbackIsStatusRecord: Bool
    /// Members a callback copies from the status record (Veo's `originUrls`, `resolution`).
    public var callbackCopies: [(from: FieldPath, to: FieldPath)]
    /// Members every callback carries with a fixed value (Veo's `fallbackFlag: false`).
    public var callbackConstants: [(path: FieldPath, value: JSONValue)]

    public enum TimeFormat: Sendable {
        /// Epoch milliseconds.
        case epochMillis
        /// `"YYYY-MM-DD HH:mm:ss"`, no zone (written as UTC).
        case dateTime
        /// `"YYYY-MM-DDTHH:mm:ss.000Z"`.
        case iso8601
    }

    public init(
        statusTaskID: FieldPath = "taskId", callbackTaskID: FieldPath = "taskId", statusResult: FieldPath,
        callbackResult: FieldPath, singleResult: Bool = false, failCode: FieldPath = "errorCode",
        failMessage: FieldPath = "errorMessage", createTime: FieldPath = "createTime",
        completeTime: FieldPath? = "completeTime", times: TimeFormat = .epochMillis, successMessage: String,
        failureMessage: String, failureMessageFromTask: Bool = true, failureCode: Int = 500, failureCodes: Set<Int> = [400, 500, 501],
        callbackIsStatusRecord: Bool = false, callbackCopies: [(from: FieldPath, to: FieldPath)] = [],
        callbackConstants: [(path: FieldPath, value: JSONValue)] = []
    ) {
        self.statusTaskID = statusTaskID
        self.callbackTaskID = callbackTaskID
        self.statusResult = statusResult
        self.callbackResult = callbackResult
        self.singleResult = singleResult
        self.failCode = failCode
        self.failMessage = failMessage
        self.createTime = createTime
        self.completeTime = completeTime
        self.times = times
        self.successMessage = successMessage
        self.failureMessage = failureMessage
        self.failureMessageFromTask = failureMessageFromTask
        self.failureCode = failureCode
        self.failureCodes = failureCodes
        self.callbackIsStatusRecord = callbackIsStatusRecord
        self.callbackCopies = callbackCopies
        self.callbackConstants = callbackConstants
    }

    /// A time as this family writes it.
    public func time(_ millis: EpochMillis) -> JSONValue {
        switch times {
        case .epochMillis: .int(millis)
        case .dateTime: .string(Self.dateTime(millis, separator: " ", suffix: ""))
        case .iso8601: .string(Self.dateTime(millis, separator: "T", suffix: ".000Z"))
        }
    }

    /// The result URLs as this family writes them at `path`.
    public func results(_ urls: [String]) -> JSONValue {
        if singleResult { return urls.first.map(JSONValue.string) ?? .null }
        return .array(urls.map(JSONValue.string))
    }

    /// `YYYY-MM-DD<sep>HH:mm:ss<suffix>` in UTC (civil-from-days, Howard Hinnant's algorithm).
    static func dateTime(_ millis: EpochMillis, separator: String, suffix: String) -> String {
        let clamped = min(max(millis, TaskReport.plausibleTimes.lowerBound), TaskReport.plausibleTimes.upperBound)
        let seconds = clamped / 1000
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))\(separator)\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))\(suffix)"
    }
}
