/// Decoding of every Kie payload family Kie documents, tolerant where Kie is inconsistent:
/// `msg`/`message`, null or empty `failCode`, `resultJson` as a JSON string / object / null,
/// Veo times as epoch ms or `YYYY-MM-DD HH:mm:ss`, Veo `resultUrls` as an array or a JSON
/// string, credits as `creditsConsumed` or `consumeCredits`/`remainedCredits`.
///
/// Strict on output: numbers (times, credits, progress) come out only inside the ranges
/// `TaskReport` documents; a value outside them (NaN, an infinity, `1e16` ms, a negative
/// price) is read as absent rather than passed on to arithmetic that would trap or to a
/// column that cannot hold it.
public enum KieWire {

    // MARK: Create requests

    /// The parts of a create request (market `createTask` or Veo `generate`) the agent needs.
    public struct CreateRequest: Sendable, Equatable {
        public var family: ModelFamily
        public var model: String?
        public var callBackURL: String?
    }

    /// The model Kie runs for a Veo create that names none.
    public static let veoDefaultModel = "veo3_fast"

    /// Reads a create request body. Veo requests without a model get `veoDefaultModel`, as at Kie.
    public static func createRequest(_ json: JSONValue, family: ModelFamily) -> CreateRequest {
        var model = json["model"]?.nonEmptyString.flatMap(ModelCatalogue.sanitize)
        if family == .veo, model == nil { model = veoDefaultModel }
        return CreateRequest(family: family, model: model, callBackURL: json["callBackUrl"]?.nonEmptyString)
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

    /// `data.taskId` of a create answer.
    public static func createdTaskId(_ envelope: KieEnvelope) -> String? {
        guard envelope.code == 200 else { return nil }
        return envelope.data["taskId"]?.nonEmptyString
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
        _ envelope: KieEnvelope, httpStatus: Int, family: ModelFamily, taskId: String?
    ) -> StatusAnswer {
        if isUnknownTask(envelope) { return .unknownTask }
        guard let code = envelope.code else { return .error("HTTP \(httpStatus), no body code") }
        if terminalFailureCodes.contains(code) {
            // Whatever record came with it still names the task and its times; the code decides the state.
            var report = (try? record(envelope.data, family: family))
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
            return .report(try record(envelope.data, family: family))
        } catch {
            return .error("unreadable status answer: \(error)")
        }
    }

    /// Market `recordInfo` data (also the `data` of a market callback).
    public static func marketRecord(_ data: JSONValue) throws(KieDecodingError) -> TaskReport {
        guard case .object = data else { throw KieDecodingError("market record: data is not an object") }
        guard let taskId = data["taskId"]?.nonEmptyString else { throw KieDecodingError("market record: no taskId") }
        guard let rawState = data["state"]?.nonEmptyString else {
            throw KieDecodingError("market record \(taskId): no state")
        }
        guard let state = TaskState(marketState: rawState) else {
            throw KieDecodingError("market record \(taskId): unknown state '\(rawState)'")
        }
        return TaskReport(
            taskId: taskId,
            family: .market,
            model: data["model"]?.nonEmptyString.flatMap(ModelCatalogue.sanitize),
            state: state,
            createdAt: timestamp(data["createTime"]),
            completedAt: timestamp(data["completeTime"]),
            failCode: data["failCode"]?.nonEmptyString,
            failMessage: data["failMsg"]?.nonEmptyString,
            resultURLs: marketResultURLs(data["resultJson"]),
            creditsConsumed: number(data.first("creditsConsumed", "consumeCredits"), in: TaskReport.plausibleCreditsConsumed),
            creditsRemaining: number(data["remainedCredits"], in: TaskReport.plausibleCreditBalance),
            progress: data["progress"]?.intValue.flatMap { (0...100).contains($0) ? Int($0) : nil }
        )
    }

    /// Veo `record-info` data. `successFlag`: 0 generating, 1 success, 2 failed, 3 generation failed.
    public static func veoRecord(_ data: JSONValue) throws(KieDecodingError) -> TaskReport {
        guard case .object = data else { throw KieDecodingError("veo record: data is not an object") }
        guard let taskId = data["taskId"]?.nonEmptyString else { throw KieDecodingError("veo record: no taskId") }
        guard let flag = data["successFlag"]?.intValue, let state = TaskState(veoSuccessFlag: Int(flag)) else {
            throw KieDecodingError("veo record \(taskId): missing or unknown successFlag")
        }
        let response = data["response"]?.unwrappingEmbeddedJSON ?? .null
        return TaskReport(
            taskId: taskId,
            family: .veo,
            model: veoModel(paramJSON: data["paramJson"]),
            state: state,
            createdAt: timestamp(data["createTime"]),
            completedAt: timestamp(data["completeTime"]),
            failCode: data["errorCode"]?.nonEmptyString,
            failMessage: data["errorMessage"]?.nonEmptyString,
            resultURLs: urlList(response["resultUrls"])
        )
    }

    // MARK: Callbacks

    /// A market callback: `{"code":200|501,"msg":...,"data":{taskId, state, ...}}`.
    public static func marketCallback(_ envelope: KieEnvelope) throws(KieDecodingError) -> TaskReport {
        var report = try marketRecord(envelope.data)
        // A callback is sent at a terminal state; trust `data.state`, fall back to the code.
        if !report.state.isTerminal, let code = envelope.code {
            report.state = code == 200 ? .success : .fail
        }
        if report.state == .fail, report.failCode == nil, let code = envelope.code, code != 200 {
            report.failCode = String(code)
            report.failMessage = report.failMessage ?? envelope.message
        }
        return report
    }

    /// A Veo callback: code 200 with `data.info.resultUrls`, or 400/422/500/501 on failure.
    public static func veoCallback(_ envelope: KieEnvelope) throws(KieDecodingError) -> TaskReport {
        guard case .object = envelope.data else { throw KieDecodingError("veo callback: data is not an object") }
        guard let taskId = envelope.data["taskId"]?.nonEmptyString else {
            throw KieDecodingError("veo callback: no taskId")
        }
        guard let code = envelope.code else { throw KieDecodingError("veo callback \(taskId): no code") }
        let info = envelope.data.first("info", "response")?.unwrappingEmbeddedJSON ?? .null
        let success = code == 200
        return TaskReport(
            taskId: taskId,
            family: .veo,
            state: success ? .success : .fail,
            failCode: success ? nil : String(code),
            failMessage: success ? nil : envelope.message,
            resultURLs: urlList(info["resultUrls"])
        )
    }

    /// A callback of either family.
    public static func callback(_ envelope: KieEnvelope, family: ModelFamily) throws(KieDecodingError) -> TaskReport {
        switch family {
        case .market: try marketCallback(envelope)
        case .veo: try veoCallback(envelope)
        }
    }

    /// A status answer's data of either family.
    public static func record(_ data: JSONValue, family: ModelFamily) throws(KieDecodingError) -> TaskReport {
        switch family {
        case .market: try marketRecord(data)
        case .veo: try veoRecord(data)
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

    /// `resultJson` as a JSON string, an object or null → its `resultUrls` (or none).
    static func marketResultURLs(_ value: JSONValue?) -> [String] {
        guard let value else { return [] }
        let parsed = value.unwrappingEmbeddedJSON
        return urlList(parsed["resultUrls"])
    }

    /// A URL list as an array of strings, or a JSON-encoded array in a string, or one URL.
    static func urlList(_ value: JSONValue?) -> [String] {
        guard let value else { return [] }
        switch value.unwrappingEmbeddedJSON {
        case .array(let items): return items.compactMap(\.nonEmptyString)
        case .string(let s) where !s.isEmpty: return [s]
        default: return []
        }
    }

    static func veoModel(paramJSON: JSONValue?) -> String? {
        guard let param = paramJSON?.unwrappingEmbeddedJSON else { return nil }
        return param["model"]?.nonEmptyString.flatMap(ModelCatalogue.sanitize)
    }

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

    /// `YYYY-MM-DD HH:mm:ss` (or with `T`), as UTC, to epoch ms; years 1970-9999 only, so the
    /// result is within `TaskReport.plausibleTimes`. Later fields (fractions, a zone) are ignored.
    public static func parseDateTime(_ s: String) -> EpochMillis? {
        // ASCII digit runs only; a run too long for Int64 fails the whole time rather than
        // being skipped, which would shift the fields after it.
        let fields = s.split(whereSeparator: { !($0.isASCII && $0.isNumber) }).prefix(6)
        let digits = fields.compactMap { Int64($0) }
        guard digits.count == 6 else { return nil }
        let (y, mo, d, h, mi, se) = (digits[0], digits[1], digits[2], digits[3], digits[4], digits[5])
        guard (1970...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h),
            (0...59).contains(mi), (0...60).contains(se)
        else { return nil }
        return (daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se) * 1000
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
