import KieWatchCore

/// Why a simulated task failed, in the family's own terms.
public struct TaskFailure: Sendable, Equatable {
    /// Market `failCode` (a string on the wire) or Veo `errorCode` (also the Veo callback's `code`).
    public var code: Int
    public var message: String
    /// Veo `successFlag`: 2 failed, 3 created but generation failed. Families with `successFlag`
    /// 2 and 3 report it alike.
    public var veoSuccessFlag: Int
    /// The state name of families that spell states as words (Suno's `GENERATE_AUDIO_FAILED`,
    /// GPT-4o image's `GENERATE_FAILED`); nil: the family's first failure spelling.
    public var stateName: String? = nil

    /// The failure behind a terminal status code: `501` generation failed, `408` no result for
    /// over 10 minutes (Veo: `successFlag` 3 and 2).
    static func statusFault(_ code: Int, family: TaskFamily) -> TaskFailure {
        switch code {
        case 408: TaskFailure(code: 408, message: "No result for over 10 minutes", veoSuccessFlag: 2)
        default: TaskFailure(code: code, message: "Generation failed", veoSuccessFlag: 3)
        }
    }

    /// The failures a task of `family` may end with (one is drawn per failing task).
    static func catalogue(for family: TaskFamily) -> [TaskFailure] { SimulatedFamily.of(family).failures }

    static let market = [
        TaskFailure(code: 500, message: "Internal server error", veoSuccessFlag: 2),
        TaskFailure(code: 422, message: "Your prompt was flagged by the content checker.", veoSuccessFlag: 2),
        TaskFailure(code: 501, message: "Generation failed, please try again later.", veoSuccessFlag: 2),
        TaskFailure(code: 400, message: "Failed to download the input image.", veoSuccessFlag: 2),
    ]

    /// Veo's, and every family's without a catalogue of its own.
    static let standard = [
        TaskFailure(code: 400, message: "content policy violation", veoSuccessFlag: 2),
        TaskFailure(code: 422, message: "Your prompt was flagged by the content checker.", veoSuccessFlag: 2),
        TaskFailure(code: 500, message: "Internal Error, Please try again later.", veoSuccessFlag: 2),
        TaskFailure(code: 501, message: "Video generation failed.", veoSuccessFlag: 3),
    ]

    /// Kie's 4K failure callback is code 500.
    static let veo4K = [
        TaskFailure(code: 500, message: "4K video generation failed.", veoSuccessFlag: 2),
        TaskFailure(code: 500, message: "Internal Error, Please try again later.", veoSuccessFlag: 2),
    ]

    /// Suno's failure statuses, with the callback codes Kie lists for them.
    static let suno = [
        TaskFailure(
            code: 400, message: "The lyrics contain copyrighted content.", veoSuccessFlag: 2,
            stateName: "SENSITIVE_WORD_ERROR"),
        TaskFailure(code: 451, message: "Failed to fetch the uploaded audio.", veoSuccessFlag: 2, stateName: "CREATE_TASK_FAILED"),
        TaskFailure(code: 500, message: "Audio generation failed.", veoSuccessFlag: 2, stateName: "GENERATE_AUDIO_FAILED"),
        TaskFailure(code: 500, message: "Internal Error, Please try again later.", veoSuccessFlag: 2, stateName: "GENERATE_AUDIO_FAILED"),
    ]

    static let gpt4oImage = [
        TaskFailure(code: 400, message: "content policy violation", veoSuccessFlag: 2, stateName: "GENERATE_FAILED"),
        TaskFailure(code: 500, message: "Internal Error, Please try again later.", veoSuccessFlag: 2, stateName: "GENERATE_FAILED"),
        TaskFailure(code: 500, message: "Failed to create the task.", veoSuccessFlag: 2, stateName: "CREATE_TASK_FAILED"),
    ]
}
