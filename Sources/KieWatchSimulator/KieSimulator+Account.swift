import KieWatchCore
import KieWatchHTTP

/// Account-level endpoints: the credit balance and the file uploads (which live on Kie's upload
/// host; the simulator serves both hosts on one listener).
extension KieSimulator {
    /// `GET /api/v1/chat/credit`: `{"code":200,"msg":"success","data":<balance>}`.
    func credit() -> HTTPResponse {
        let balance = state.withLock { $0.credits }
        return Self.success(.int(balance))
    }

    /// `POST /api/file-base64-upload`, `/api/file-url-upload`, `/api/file-stream-upload`: accepts
    /// any body and answers with the upload record. Nothing is stored; the URLs point at
    /// `mediaBaseURL`. File names come from the body when it is JSON and names one.
    func upload(_ request: HTTPRequest, kind: Route.UploadKind, now: EpochMillis) -> HTTPResponse {
        let number = state.withLock { state in
            state.uploads += 1
            return state.uploads
        }
        let json = Self.jsonObject(request.body)
        let uploadPath = json?["uploadPath"]?.nonEmptyString ?? "uploads"
        let fileName = json?["fileName"]?.nonEmptyString ?? "upload-\(number)"
        let size: Int
        switch kind {
        case .base64:
            let data = json?["base64Data"]?.stringValue ?? ""
            let payload = data.split(separator: ",", maxSplits: 1).last.map(String.init) ?? data
            size = payload.utf8.count / 4 * 3
        case .url: size = 0
        case .stream: size = request.body.count
        }
        let path = "\(uploadPath)/\(number)-\(fileName)"
        let url = "\(configuration.mediaBaseURL)/files/\(path)"
        return Self.success([
            "fileName": .string(fileName),
            "filePath": .string(path),
            "fileUrl": .string(url),
            "downloadUrl": .string(url),
            "fileSize": .int(Int64(size)),
            "mimeType": "application/octet-stream",
            "uploadedAt": .string(SimulatorTime.iso8601(now)),
        ])
    }
}
