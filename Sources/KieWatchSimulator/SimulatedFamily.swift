import KieWatchCore

/// What the simulator needs to know about a task family beyond the family table: how Kie's task
/// ids look, which creates must name a callback or an earlier task, how many results a task
/// makes, and how it fails. Routes, state spellings, field paths and callback shapes all come
/// from the table (`TaskFamily`); a family without an entry here gets `standard`, so a new table
/// entry is served (created, polled, called back) at once.
struct SimulatedFamily: Sendable {
    /// How a new task id looks.
    enum IDForm: Sendable {
        /// `prefix` then `count` lowercase hex digits (market: 32 digits; Veo: `veo_task_` + 12).
        case hex(prefix: String, count: Int)
        /// `8-4-4-4-12` lowercase hex (Runway's ids).
        case uuid
    }

    var idForm: IDForm = .hex(prefix: "", count: 32)
    /// Create endpoints (by label) that Kie refuses without a `callBackUrl` (Runway extend, Suno).
    var callbackRequired: Set<String> = []
    /// Create endpoints (by label) whose body names an earlier successful task of the family
    /// (`taskId`) and make a new task from it (Veo extend, Runway extend). A family whose create
    /// reuses the earlier task's id (the table's `parentTaskSuffix`, Veo 4K) needs no entry.
    var extends: Set<String> = []
    /// The families whose tasks a create naming an earlier task may name (Veo 4K: Veo and Veo
    /// extend videos); nil: tasks polled at the family's own status endpoint.
    var buildsOn: Set<String>? = nil
    /// The values the create's model member may take (`TaskFamily.ModelRule.key`); nil: any.
    var models: Set<String>? = nil
    /// Result URLs a successful task makes (Suno: two songs; Midjourney: a grid of four).
    var resultCount = 1
    /// Where a running task's status answer says its progress as a string fraction (`"0.45"`).
    var progressFraction: FieldPath? = nil
    /// Where a successful callback's `data` lists poster images (Veo 4K's `info.imageUrls`).
    var posters: FieldPath? = nil
    /// Members of the create answer's `data` Kie sends as null (Veo 4K: `resultUrls`, `imageUrls`).
    var createAnswerNulls: [String] = []
    /// A failed task's callback may come with `data: null` (Veo 4K); the simulator sends it so
    /// for legacy-payload tasks (`SimulatorConfiguration.legacyPayloadRate`).
    var failureDataMayBeNull = false
    /// The message of the status answer while a job reusing a task's id runs (the code is the
    /// table's `runningAnswers`).
    var runningMessage = "processing"
    /// How the family's tasks fail.
    var failures: [TaskFailure] = TaskFailure.standard

    static let standard = SimulatedFamily()

    /// The entry for `family`.
    static func of(_ family: TaskFamily) -> SimulatedFamily { byName[family.rawValue] ?? standard }

    private static let byName: [String: SimulatedFamily] = [
        TaskFamily.market.rawValue: SimulatedFamily(failures: TaskFailure.market),
        TaskFamily.veo.rawValue: SimulatedFamily(idForm: .hex(prefix: "veo_task_", count: 12)),
        TaskFamily.veoExtend.rawValue: SimulatedFamily(
            idForm: .hex(prefix: "veo_task_", count: 12), extends: ["veo_extend"], models: ["fast", "quality", "lite"]),
        TaskFamily.veo4K.rawValue: SimulatedFamily(
            buildsOn: [TaskFamily.veo.rawValue, TaskFamily.veoExtend.rawValue], posters: "info.imageUrls", createAnswerNulls: ["resultUrls", "imageUrls"], failureDataMayBeNull: true,
            runningMessage: "4k is processing", failures: TaskFailure.veo4K),
        TaskFamily.runway.rawValue: SimulatedFamily(
            idForm: .uuid, callbackRequired: ["runway_extend"], extends: ["runway_extend"]),
        TaskFamily.aleph.rawValue: SimulatedFamily(idForm: .uuid),
        TaskFamily.suno.rawValue: SimulatedFamily(
            callbackRequired: Set(TaskFamily.suno.creates.map(\.label)), resultCount: 2, failures: TaskFailure.suno),
        TaskFamily.gpt4oImage.rawValue: SimulatedFamily(progressFraction: "progress", failures: TaskFailure.gpt4oImage),
        TaskFamily.midjourney.rawValue: SimulatedFamily(resultCount: 4),
    ]

    /// A new task id of this form.
    func newTaskID(_ random: inout SeededRandom) -> String {
        switch idForm {
        case .hex(let prefix, let count): return prefix + random.hex(count: count)
        case .uuid:
            let h = Array(random.hex(count: 32))
            return [h[0..<8], h[8..<12], h[12..<16], h[16..<20], h[20..<32]].map { String($0) }.joined(separator: "-")
        }
    }
}
