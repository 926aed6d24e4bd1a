import KieWatchCore

/// The callback body kiewatch relays to the app when it recovered a task by polling: the shape
/// Kie would have sent for the task's family (`TaskFamily.shape`), so the app's existing
/// webhook handler needs no change.
public enum SynthesizedCallback {
    /// Header marking a body kiewatch made rather than Kie.
    public static let recoveredHeader = "X-KieWatch-Recovered"

    /// Builds the callback from the normalized report and the status answer's `data` (market:
    /// Kie's callback carries the same record, so it is passed through whole).
    public static func body(for report: TaskReport, statusData: JSONValue) -> JSONValue {
        KieWire.callbackBody(for: report, family: report.family, statusData: statusData)
    }
}
