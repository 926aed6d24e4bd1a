import KieWatchCore

/// Why a simulated task failed, in the family's own terms.
public struct TaskFailure: Sendable, Equatable {
    /// Market `failCode` (a string on the wire) or Veo `errorCode` (also the Veo callback's `code`).
    public var code: Int
    public var message: String
    /// Veo `successFlag`: 2 failed, 3 created but generation failed. Unused for market tasks.
    public var veoSuccessFlag: Int

    /// The failure behind a terminal status code: `501` generation failed, `408` no result for
    /// over 10 minutes (Veo: `successFlag` 3 and 2).
    static func statusFault(_ code: Int, family: TaskFamily) -> TaskFailure {
        switch code {
        case 408: TaskFailure(code: 408, message: "No result for over 10 minutes", veoSuccessFlag: 2)
        default: TaskFailure(code: code, message: "Generation failed", veoSuccessFlag: 3)
        }
    }

    static func catalogue(for family: TaskFamily) -> [TaskFailure] {
        switch family {
        case .market:
            [
                TaskFailure(code: 500, message: "Internal server error", veoSuccessFlag: 2),
                TaskFailure(code: 422, message: "Your prompt was flagged by the content checker.", veoSuccessFlag: 2),
                TaskFailure(code: 501, message: "Generation failed, please try again later.", veoSuccessFlag: 2),
                TaskFailure(code: 400, message: "Failed to download the input image.", veoSuccessFlag: 2),
            ]
        default:
            [
                TaskFailure(code: 400, message: "content policy violation", veoSuccessFlag: 2),
                TaskFailure(code: 422, message: "Your prompt was flagged by the content checker.", veoSuccessFlag: 2),
                TaskFailure(code: 500, message: "Internal Error, Please try again later.", veoSuccessFlag: 2),
                TaskFailure(code: 501, message: "Video generation failed.", veoSuccessFlag: 3),
            ]
        }
    }
}
