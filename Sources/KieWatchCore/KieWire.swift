/// Decoding of every Kie payload, tolerant where Kie is inconsistent: `msg`/`message`, null or
/// empty `failCode`, `resultJson` as a JSON string / object / null, times as epoch ms or
/// `YYYY-MM-DD HH:mm:ss` or ISO strings, `resultUrls` as an array or a JSON string, credits as
/// `creditsConsumed` or `consumeCredits`/`remainedCredits`. What differs between families
/// (where each field sits, how a state is spelled) is the family table's (`TaskFamily`); the
/// records and callbacks of every family are read in `KieWire+Families.swift`.
///
/// Strict on output: numbers (times, credits, progress) come out only inside the ranges
/// `TaskReport` documents; a value outside them (NaN, an infinity, `1e16` ms, a negative
/// price) is read as absent rather than passed on to arithmetic that would trap or to a
/// column that cannot hold it.
public enum KieWire {

    // MARK: Create requests

    /// The parts of a create request the agent needs.
    public struct CreateRequest: Sendable, Equatable {
        public var family: TaskFamily
        public var model: String?
        public var callBackURL: String?
        /// The existing task the create names (Veo 4K's `taskId`), for families that have one.
        public var parentTaskID: String?
        /// The body, for the family's tracked id (`TaskFamily.trackedTaskID`).
        public var json: JSONValue
    }

    /// Reads a create request body: the model by the family's rule (its default when the body
    /// names none, as at Kie), the callback URL, the parent task.
    public static func createRequest(_ json: JSONValue, family: TaskFamily) -> CreateRequest {
        CreateRequest(
            family: family, model: family.model(inCreate: json), callBackURL: json["callBackUrl"]?.nonEmptyString,
            parentTaskID: family.parentTaskID(inCreate: json), json: json)
    }

    /// Where a create body names the app's callback URL: the top-level `callBackUrl` string
    /// members, read from the raw bytes so the body can be passed on unchanged but for them.
    public struct CallBackURLField: Sendable, Equatable {
        /// The app's URL: the first non-empty one (what `createRequest` reads).
        public var url: String
        /// Every top-level `callBackUrl` string member: all are replaced, so that whichever a
        /// parser keeps of duplicate keys, Kie never gets the app's own URL.
        public var members: [JSONMemberSplice.StringMember]
    }

    /// The app's callback URL in a create body; nil when the body is not a JSON object or has
    /// no non-empty top-level `callBackUrl` string (then no callback is expected).
    public static func callBackURLField(in body: [UInt8]) -> CallBackURLField? {
        guard let members = JSONMemberSplice.stringMembers(named: "callBackUrl", in: body),
            let url = members.first(where: { !$0.value.isEmpty })?.value
        else { return nil }
        return CallBackURLField(url: url, members: members)
    }

    /// The create body with the callback URL replaced by `url`; every other byte unchanged.
    public static func replacingCallBackURL(_ field: CallBackURLField, in body: [UInt8], with url: String) -> [UInt8] {
        JSONMemberSplice.replacing(field.members, in: body, with: url)
    }

    /// `data.taskId` (or `data.task_id`) of a create answer.
    public static func createdTaskId(_ envelope: KieEnvelope) -> String? {
        guard envelope.code == 200 else { return nil }
        return TaskFamily.callbackTaskIDs.firstValue(in: envelope.data)?.nonEmptyString
    }

    /// The task a non-create call names: `taskId` in the query, else a top-level `taskId` in a
    /// JSON object body (Veo 4K and extend, `gpt4o-image/download-url`). Bodies larger than
    /// `maxTaskIdBodyBytes` are not read: the calls that carry one are small, chat bodies are not.
    public static func referencedTaskId(queryTaskId: String?, body: [UInt8]) -> String? {
        if let queryTaskId, !queryTaskId.isEmpty { return queryTaskId }
        guard !body.isEmpty, body.count <= maxTaskIdBodyBytes, body.first(where: { !isJSONSpace($0) }) == UInt8(ascii: "{"),
            let json = try? JSONValue.parse(body)
        else { return nil }
        return json["taskId"]?.nonEmptyString
    }

    /// Largest body `referencedTaskId` parses: 4K and extend requests are a few hundred bytes.
    public static let maxTaskIdBodyBytes = 16 * 1024

    private static func isJSONSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
    }

    // MARK: Status answers

    /// What one status answer says about its task. Status calls passing through the proxy and
    /// the agent's own recovery polls are both read by `statusAnswer`, so they conclude alike.
    public enum StatusAnswer: Sendable, Equatable {
        /// The task as Kie reports it, running or terminal (a 501/408 answer is a `fail` report).
        case report(TaskReport)
        /// Kie does not know the task (`404`, or `422 recordInfo is null`). In the first seconds
        /// after a create this is eventual consistency, not proof: the caller decides.
        case unknownTask
        /// Anything else: an error code, or a body that is not a status record.
        case error(String)

        public var report: TaskReport? {
            if case .report(let report) = self { report } else { nil }
        }
    }

    /// Body codes a status call answers for a task that ended badly without a record: `501`
    /// (generation failed) and `408` (no result for over 10 minutes). Both are terminal.
    public static let terminalFailureCodes: Set<Int> = [501, 408]

    /// Reads a status answer (market `recordInfo`, Veo `record-info`) for the task `taskId` (the
    /// query's id: failure answers may carry no data). The body code is the truth: 200 is a
    /// record (behind a 2xx HTTP status; a 200 body behind a failing status is not trusted),
    /// 501/408 a terminal failure with `failCode` the code and `failMsg` the message.
    public static func statusAnswer(
        _ envelope: KieEnvelope, httpStatus: Int, family: TaskFamily, taskId: String?
    ) -> StatusAnswer {
        if isUnknownTask(envelope) { return .unknownTask }
        guard let code = envelope.code else { return .error("HTTP \(httpStatus), no body code") }
        func matches(_ answers: [TaskFamily.RunningAnswer]) -> Bool {
            answers.contains { $0.code == code && (envelope.message ?? "").lowercased().contains($0.messageContains) }
        }
        if let taskId, !taskId.isEmpty, matches(family.runningAnswers) {
            // Still running, though not 200 (Veo 4K: 422 "4k is processing").
            return .report(TaskReport(taskId: taskId, family: family, state: .generating))
        }
        if let taskId, !taskId.isEmpty, matches(family.failedAnswers) {
            // Failed, in the family's own words (Veo 4K: 500 "... unavailable").
            return .report(
                TaskReport(taskId: taskId, family: family, state: .fail, failCode: String(code), failMessage: envelope.message))
        }
        if terminalFailureCodes.contains(code) {
            // Whatever record came with it still names the task and its times; the code decides the state.
            var report = (try? record(envelope.data, family: family, taskId: taskId))
                ?? TaskReport(taskId: "", family: family, state: .fail)
            if report.taskId.isEmpty, let taskId, !taskId.isEmpty { report.taskId = taskId }
            guard !report.taskId.isEmpty else { return .error("code \(code) for no task id: \(envelope.message ?? "")") }
            report.state = .fail
            report.failCode = String(code)
            let message = envelope.message.flatMap { $0.isEmpty ? nil : $0 }
            report.failMessage = message ?? report.failMessage ?? KieCode.lookup(code).meaning
            report.resultURLs = []
            return .report(report)
        }
        guard code == 200 else { return .error("code \(code): \(envelope.message ?? "")") }
        guard (200..<300).contains(httpStatus) else { return .error("HTTP \(httpStatus) with body code 200") }
        do {
            return .report(try record(envelope.data, family: family, taskId: taskId))
        } catch {
            return .error("unreadable status answer: \(error)")
        }
    }

    // MARK: Credits

    /// `GET /api/v1/chat/credit` → the integer balance in `data` (nil when it is not a
    /// number within `TaskReport.plausibleCreditBalance`).
    public static func creditBalance(_ envelope: KieEnvelope) -> Double? {
        guard envelope.code == 200 else { return nil }
        return number(envelope.data, in: TaskReport.plausibleCreditBalance)
            ?? number(envelope.data.first("credits", "balance"), in: TaskReport.plausibleCreditBalance)
    }

    /// Whether a status answer says the task does not exist (`422 recordInfo is null`, `404`).
    public static func isUnknownTask(_ envelope: KieEnvelope) -> Bool {
        guard envelope.data.isNull else { return false }
        if envelope.code == 404 { return true }
        return envelope.code == 422 && (envelope.message?.lowercased().contains("null") ?? false)
    }

    // MARK: Field helpers

    /// A number field (a JSON number or a numeric string) when it lies in `range`; NaN,
    /// infinities and anything outside are absent.
    static func number(_ value: JSONValue?, in range: ClosedRange<Double>) -> Double? {
        guard let d = value?.doubleValue, range.contains(d) else { return nil }
        return d
    }

    /// Epoch ms, epoch seconds (values below 10^11), or `YYYY-MM-DD HH:mm:ss` (read as UTC);
    /// nil for anything else, and for any time outside `TaskReport.plausibleTimes` (a
    /// `completeTime` of 10^16 is not a time, whether sent as a number or a string).
    public static func timestamp(_ value: JSONValue?) -> EpochMillis? {
        guard let value, !value.isNull else { return nil }
        if case .string(let s) = value, s.contains("-") { return parseDateTime(s) }
        guard let n = value.intValue, n > 0 else { return nil }
        // Below 10^11 a value is seconds; 10^11 × 1000 cannot overflow.
        let millis = n < 100_000_000_000 ? n * 1000 : n
        return TaskReport.plausibleTimes.contains(millis) ? millis : nil
    }

    /// `YYYY-MM-DD HH:mm:ss` (or with `T`) to epoch ms; years 1970-9999 only, and the result
    /// within `TaskReport.plausibleTimes`. What follows the seconds is read when it is ISO 8601:
    /// a fraction (`.250`, to the millisecond) and a zone (`Z`, `+08:00`, `-0530`); without a
    /// zone the time is UTC (Kie documents none for its date strings). Anything else after the
    /// seconds is ignored.
    public static func parseDateTime(_ s: String) -> EpochMillis? {
        // ASCII digit runs only; a run too long for Int64 fails the whole time rather than
        // being skipped, which would shift the fields after it.
        let bytes = Array(s.utf8)
        var runs: [(value: Int64, end: Int)] = []
        var i = 0
        while i < bytes.count, runs.count < 6 {
            guard isDigit(bytes[i]) else {
                i += 1
                continue
            }
            let start = i
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
            guard let value = Int64(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
            runs.append((value, i))
        }
        guard runs.count == 6 else { return nil }
        let (y, mo, d, h, mi, se) = (runs[0].value, runs[1].value, runs[2].value, runs[3].value, runs[4].value, runs[5].value)
        guard (1970...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h),
            (0...59).contains(mi), (0...60).contains(se)
        else { return nil }
        var millis = (CivilTime.daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se) * 1000
        var rest = bytes[runs[5].end...]
        if rest.first == UInt8(ascii: "."), rest.dropFirst().first.map(isDigit) == true {
            let digits = rest.dropFirst().prefix(while: isDigit)
            var fraction: Int64 = 0
            for place in 0..<3 {
                let digit = digits.dropFirst(place).first.map { Int64($0 &- UInt8(ascii: "0")) } ?? 0
                fraction = fraction * 10 + digit
            }
            millis += fraction
            rest = rest.dropFirst(1 + digits.count)
        }
        if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            let zone = Array(rest.dropFirst().prefix(6))
            let hh = zone.prefix(2)
            let mmStart = zone.count > 2 && zone[2] == UInt8(ascii: ":") ? 3 : 2
            let mm = zone.dropFirst(mmStart).prefix(2)
            if hh.count == 2, hh.allSatisfy(isDigit), mm.count == 2, mm.allSatisfy(isDigit) {
                let offsetHours = Int64(hh[hh.startIndex] &- 48) * 10 + Int64(hh[hh.startIndex + 1] &- 48)
                let offsetMinutes = Int64(mm[mm.startIndex] &- 48) * 10 + Int64(mm[mm.startIndex + 1] &- 48)
                guard offsetHours <= 23, offsetMinutes <= 59 else { return nil }
                let offset = (offsetHours * 3600 + offsetMinutes * 60) * 1000
                // Local time minus its offset is UTC.
                millis += sign == UInt8(ascii: "+") ? -offset : offset
            }
        }
        return TaskReport.plausibleTimes.contains(millis) ? millis : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

}
