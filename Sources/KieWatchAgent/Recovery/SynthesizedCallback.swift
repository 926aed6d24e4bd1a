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
                "data": statusData,
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
            let code = report.failCode.flatMap { Int64($0) }.flatMap { [400, 422, 500, 501].contains($0) ? $0 : nil } ?? 501
            return [
                "code": .int(code),
                "msg": .string(report.failMessage ?? "Veo generation failed."),
                "data": ["taskId": .string(report.taskId), "fallbackFlag": false],
            ]
        }
    }
}
