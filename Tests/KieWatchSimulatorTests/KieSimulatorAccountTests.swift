import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Download links and uploads (`KieSimulator+Account`).
@Suite struct KieSimulatorAccountTests {
    @Test func downloadURLTurnsASimulatorFileIntoATemporaryLinkAndRefusesOthers() async throws {
        let h = Harness { $0.legacyPayloadRate = 0 }
        let id = try #require(await h.createMarket())
        await h.advance(millis: 30 * 60_000)
        let result = await h.recordInfo(id)?["data"]?["resultJson"]?.unwrappingEmbeddedJSON["resultUrls"]?.arrayValue
        let file = try #require(result?.first?.stringValue)
        let request: JSONValue = ["url": .string(file)]
        let link = try #require(await h.request("POST", "/api/v1/common/download-url", body: request.serialized()).json)
        #expect(link["code"] == 200)
        #expect(link["data"]?.stringValue?.hasPrefix(file + "?") == true)
        let external = await h.request("POST", "/api/v1/common/download-url", body: #"{"url":"https://example.com/a.mp4"}"#)
        #expect(external.code == 422)
        #expect(await h.request("POST", "/api/v1/common/download-url", body: "{}").code == 422)
    }

    static func multipart(boundary: String, fields: [(String, String)], file: (name: String, type: String, bytes: String)?)
        -> [UInt8]
    {
        var text = ""
        for (name, value) in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        if let file {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.name)\"\r\n"
            text += "Content-Type: \(file.type)\r\n\r\n\(file.bytes)\r\n"
        }
        return Array((text + "--\(boundary)--\r\n").utf8)
    }

    func streamUpload(_ h: Harness, _ body: [UInt8], boundary: String) async -> JSONValue? {
        await h.simulator.handle(
            HTTPRequest(
                method: "POST", target: "/api/file-stream-upload",
                headers: ["Authorization": "Bearer k", "Content-Type": "multipart/form-data; boundary=\(boundary)"],
                body: body)
        ).json
    }

    @Test func aMultipartUploadHonoursUploadPathAndFileName() async throws {
        let h = Harness()
        let body = Self.multipart(
            boundary: "----sim42", fields: [("uploadPath", "images/user-uploads"), ("fileName", "custom-name.jpg")],
            file: (name: "photo.jpeg", type: "image/jpeg", bytes: "0123456789"))
        let answer = try #require(await streamUpload(h, body, boundary: "----sim42"))
        #expect(answer["success"] == true && answer["code"] == 200)
        let data = try #require(answer["data"])
        #expect(data["fileName"] == "custom-name.jpg")
        #expect(data["filePath"] == "images/user-uploads/custom-name.jpg")
        #expect(data["downloadUrl"]?.stringValue?.hasSuffix("/images/user-uploads/custom-name.jpg") == true)
        #expect(data["fileSize"] == 10)
        #expect(data["mimeType"] == "image/jpeg")
    }

    @Test func withoutAFileNameTheFilesOwnNameIsKept() async throws {
        let h = Harness()
        let body = Self.multipart(
            boundary: "b", fields: [("uploadPath", "/videos/")], file: (name: "clip.mp4", type: "video/mp4", bytes: "abc\r\ndef"))
        let data = try #require(await streamUpload(h, body, boundary: "b")?["data"])
        #expect(data["filePath"] == "videos/clip.mp4")
        #expect(data["fileSize"] == 8)  // a CRLF inside the file is the file's
        let noFile = Self.multipart(boundary: "b", fields: [("uploadPath", "x")], file: nil)
        #expect(await streamUpload(h, noFile, boundary: "b")?["code"] == 400)
    }

    @Test func jsonUploadsNameTheirFiles() async throws {
        let h = Harness()
        let url = try #require(
            await h.request("POST", "/api/file-url-upload", body: #"{"fileUrl":"https://example.com/a/b/pic.webp?x=1","uploadPath":"remote"}"#).json)
        #expect(url["data"]?["filePath"] == "remote/pic.webp")
        #expect(url["data"]?["mimeType"] == "image/webp")
        let base64 = try #require(
            await h.request("POST", "/api/file-base64-upload", body: #"{"base64Data":"data:image/png;base64,AAAA","uploadPath":"i","fileName":"n.bin"}"#).json)
        #expect(base64["data"]?["filePath"] == "i/n.bin")
        #expect(base64["data"]?["mimeType"] == "image/png")
    }
}
