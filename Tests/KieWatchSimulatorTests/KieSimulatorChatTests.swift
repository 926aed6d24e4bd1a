import KieWatchCore
import KieWatchHTTP
import KieWatchTestSupport
import Testing

@testable import KieWatchSimulator

/// Kie's chat paths: a canned answer, whole or as server-sent events.
@Suite struct KieSimulatorChatTests {
    func chat(_ h: Harness, _ path: String, _ body: String) async -> HTTPResponse {
        await h.request("POST", path, body: body)
    }

    /// A streamed body, read to its end, split into events.
    func events(_ response: HTTPResponse) async throws -> [(event: String?, data: String)] {
        let stream = try #require(response.bodyStream)
        var bytes = response.body
        for try await chunk in stream.chunks { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var event: String?
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return (event, data)
        }
    }

    @Test(arguments: [
        ("/claude/v1/messages", #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#),
        ("/gpt-5-2/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"}]}"#),
        ("/codex/v1/responses", #"{"model":"gpt-5-codex","input":"hi"}"#),
        ("/grok/v1/responses", #"{"input":"hi"}"#),
        ("/gemini/v1/models/gemini-2.5-flash:generateContent", #"{"contents":[{"parts":[{"text":"hi"}]}]}"#),
    ])
    func aChatCallGetsACannedJSONAnswer(path: String, body: String) async throws {
        let h = Harness()
        let response = await chat(h, path, body)
        #expect(response.status == 200 && response.bodyStream == nil)
        let json = try #require(response.json)
        let text =
            json["content"]?.arrayValue?.first?["text"]  // claude
            ?? json["choices"]?.arrayValue?.first?["message"]?["content"]  // chat completions
            ?? json["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"]  // responses
            ?? json["candidates"]?.arrayValue?.first?["content"]?["parts"]?.arrayValue?.first?["text"]  // gemini
        #expect(text == .string(KieSimulator.chatReply))
        #expect(h.simulator.snapshot().chatAnswers == 1)
    }

    @Test func theModelComesFromThePathOrTheBody() async throws {
        let h = Harness()
        #expect(try #require(await chat(h, "/gpt-5-2/v1/chat/completions", "{}").json)["model"] == "gpt-5-2")
        #expect(try #require(await chat(h, "/claude/v1/messages", #"{"model":"claude-opus-4"}"#).json)["model"] == "claude-opus-4")
        #expect(try #require(await chat(h, "/grok/v1/responses", "{}").json)["model"] == "grok")
    }

    @Test func streamTrueAnswersServerSentEventsInTheDialectsShape() async throws {
        let h = Harness { $0.streamInterval = .zero }
        let reply = KieSimulator.chatReply

        let claude = await chat(h, "/claude/v1/messages", #"{"model":"claude-sonnet-4-5","stream":true}"#)
        #expect(claude.headers["Content-Type"] == "text/event-stream")
        let c = try await events(claude)
        #expect(c.first?.event == "message_start" && c.last?.event == "message_stop")
        let claudeText = c.filter { $0.event == "content_block_delta" }
            .compactMap { try? JSONValue.parse(Array($0.data.utf8))["delta"]?["text"]?.stringValue }.joined()
        #expect(claudeText == reply)

        let openAI = try await events(await chat(h, "/gpt-5-2/v1/chat/completions", #"{"stream":true}"#))
        #expect(openAI.last?.data == "[DONE]")
        let openAIText = openAI.dropLast()
            .compactMap { try? JSONValue.parse(Array($0.data.utf8))["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }
            .joined()
        #expect(openAIText == reply)

        let codex = try await events(await chat(h, "/codex/v1/responses", #"{"stream":true}"#))
        #expect(codex.first?.event == "response.created" && codex.last?.event == "response.completed")
        #expect(codex.filter { $0.event == "response.output_text.delta" }.count > 3)

        let gemini = try await events(await chat(h, "/gemini/v1/models/gemini-2.5-pro:streamGenerateContent", "{}"))
        let geminiText = gemini.compactMap {
            try? JSONValue.parse(Array($0.data.utf8))["candidates"]?.arrayValue?.first?["content"]?["parts"]?.arrayValue?.first?["text"]?.stringValue
        }.joined()
        #expect(geminiText == reply)
    }

    @Test func chatNeedsAKeyAndUnknownChatPathsAre404() async {
        let h = Harness()
        #expect(await h.request("POST", "/claude/v1/messages", body: "{}", key: nil).code == 401)
        for path in ["/claude/v2/messages", "/v1/chat/completions", "/gemini/v1/models/x:embed", "/codex/v1/responses/x"] {
            #expect(await chat(h, path, "{}").status == 404, "\(path)")
        }
    }

    /// Over a real socket the events arrive as they are produced: the first before the last is
    /// written (`streamInterval` apart).
    @Test func overHTTPTheFirstEventArrivesBeforeTheStreamEnds() async throws {
        let h = Harness { $0.streamInterval = .milliseconds(200) }
        try await withHTTPServer(handler: h.simulator) { _, port in
            let client = try await RawHTTPClient(port: port, timeout: .seconds(20))
            let body = #"{"stream":true}"#
            try await client.send(
                "POST /gpt-5-2/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(try await client.waitForBytes("data: {"))
            #expect(String(decoding: client.pending, as: UTF8.self).contains("Transfer-Encoding: chunked"))
            let whole = try await client.readResponse()
            #expect(whole.text.hasSuffix("data: [DONE]\n\n"))
        }
    }
}
