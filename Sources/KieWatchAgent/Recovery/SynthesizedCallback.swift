import KieWatchCore

/// The callback body kiewatch relays to the app when it recovered a task by polling: the shape
/// Kie would have sent, so the app's existing webhook handler needs no change.
public enum SynthesizedCallback {
    /// Header marking a body kiewatch made rather than Kie.
    public static let recoveredHeader = "X-KieWatch-Recovered"

    /// Builds the callback from the status answer's `data` (market: Kie's callback carries the
    /// same record, so it is passed through whole) or from the normalized report (Veo).
    public static func body(for report: TaskReport, statusData: JSONValue) -> JSONValue {
        switch report.family {
        case .market:
            let success = report.state == .success
            return [
                "code": success ? 200 : 501,
                "msg": .string(success ? "Playground task completed successfully." : "Playground task failed."),
                "data": marketData(for: report, statusData: statusData),
            ]
        case .veo:
            let success = report.state == .success
            let response = statusData["response"]?.unwrappingEmbeddedJSON ?? .null
            if success {
                var info: [(key: String, value: JSONValue)] = [
                    (key: "resultUrls", value: .array(report.resultURLs.map { .string($0) }))
                ]
                if let origin = response["originUrls"] { info.append((key: "originUrls", value: origin.unwrappingEmbeddedJSON)) }
                if let resolution = response["resolution"] { info.append((key: "resolution", value: resolution)) }
                return [
                    "code": 200,
                    "msg": "Veo3.1 video generated successfully.",
                    "data": ["taskId": .string(report.taskId), "info": .object(info), "fallbackFlag": false],
                ]
            }
            let code = report.failCode.flatMap { Int64($0) }.flatMap { [400, 408, 422, 500, 501].contains($0) ? $0 : nil } ?? 501
            return [
                "code": .int(code),
                "msg": .string(report.failMessage ?? "Veo generation failed."),
                "data": ["taskId": .string(report.taskId), "fallbackFlag": false],
            ]
        }
    }

    /// The market callback's `data`: the status record when it says what the report says (the
    /// usual case), else that record (or nothing, when a `501`/`408` answer came without one)
    /// completed with the task's id, model, state and failure, as Kie's failure callback has them.
    static func marketData(for report: TaskReport, statusData: JSONValue) -> JSONValue {
        if let record = try? KieWire.marketRecord(statusData), record.state == report.state,
            record.failCode == report.failCode
        {
            return statusData
        }
        var members = statusData.objectValue ?? []
        func set(_ key: String, _ value: JSONValue) {
            if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append((key, value)) }
        }
        set("taskId", .string(report.taskId))
        if let model = report.model { set("model", .string(model)) }
        set("state", .string(report.state == .success ? "success" : "fail"))
        if report.state == .fail {
            set("resultJson", .null)
            set("failCode", .string(report.failCode ?? ""))
            set("failMsg", .string(report.failMessage ?? ""))
        }
        return .object(members)
    }
}
