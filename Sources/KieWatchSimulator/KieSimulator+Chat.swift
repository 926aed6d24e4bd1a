import KieWatchCore
import KieWatchHTTP

/// Kie's chat paths (`ChatRoute`): a small canned answer in the dialect of the path, as one JSON
/// body, or as server-sent events (`text/event-stream`, `streamInterval` apart) when the request
/// asks `"stream": true` (Gemini: the `:streamGenerateContent` method). No model runs.
extension KieSimulator {
    /// The answer every chat call gets, streamed a word at a time.
    static let chatReply = "Hello from the Kie simulator: no model ran, this answer is canned."

    /// One server-sent event: an optional `event:` name and its `data:` line.
    struct ServerSentEvent: Sendable {
        var event: String?
        var data: String

        init(_ event: String? = nil, _ data: JSONValue) {
            self.event = event
            self.data = data.serialized()
        }

        init(rawData: String) {
            event = nil
            data = rawData
        }

        var bytes: [UInt8] {
            Array(((event.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n").utf8)
        }
    }

    func answerChat(_ request: HTTPRequest, route: ChatRoute, now: EpochMillis) -> HTTPResponse {
        let body = Self.jsonObject(request.body)
        let number = state.withLock { state in
            state.stats.chatAnswers += 1
            return state.stats.chatAnswers
        }
        let model = route.dialect == .chatCompletions ? route.pathModel : body?["model"]?.nonEmptyString ?? route.pathModel
        let conversation = ChatAnswer(
            id: number, model: model, created: now / 1000, inputTokens: Int64(max(1, request.body.count / 4)),
            text: Self.chatReply)
        let streaming: Bool
        switch route.dialect {
        case .gemini(let always): streaming = always
        default: streaming = body?["stream"]?.boolValue == true
        }
        guard streaming else { return .json(conversation.body(route.dialect)) }
        return eventStream(conversation.events(route.dialect))
    }

    /// `text/event-stream`: the first event at once, the others `streamInterval` apart.
    func eventStream(_ events: [ServerSentEvent]) -> HTTPResponse {
        let interval = configuration.streamInterval
        let (stream, continuation) = HTTPBodyStream.makeStream()
        let producer = Task {
            for (index, event) in events.enumerated() {
                if index > 0 && interval > .zero {
                    do { try await Task.sleep(for: interval) } catch { break }
                }
                continuation.yield(event.bytes)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in producer.cancel() }
        return HTTPResponse(
            status: 200, headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache"], bodyStream: stream)
    }
}

/// One canned chat answer, in each dialect's whole-body and streamed shapes.
struct ChatAnswer {
    var id: Int
    var model: String
    var created: Int64
    var inputTokens: Int64
    var text: String

    var outputTokens: Int64 { Int64(pieces.count) }

    /// The text a word at a time (each piece keeps its trailing space).
    var pieces: [String] {
        var out: [String] = []
        var current = ""
        for c in text {
            current.append(c)
            if c == " " {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    func body(_ dialect: ChatRoute.Dialect) -> JSONValue {
        switch dialect {
        case .messages:
            return [
                "id": .string("msg_sim_\(id)"), "type": "message", "role": "assistant", "model": .string(model),
                "content": [["type": "text", "text": .string(text)]],
                "stop_reason": "end_turn", "stop_sequence": nil,
                "usage": ["input_tokens": .int(inputTokens), "output_tokens": .int(outputTokens)],
            ]
        case .chatCompletions:
            return [
                "id": .string("chatcmpl-sim-\(id)"), "object": "chat.completion", "created": .int(created),
                "model": .string(model),
                "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": "stop"]],
                "usage": [
                    "prompt_tokens": .int(inputTokens), "completion_tokens": .int(outputTokens),
                    "total_tokens": .int(inputTokens + outputTokens),
                ],
            ]
        case .responses:
            return response(status: "completed", output: [message(text)])
        case .gemini:
            return gemini(text, finished: true)
        }
    }

    func events(_ dialect: ChatRoute.Dialect) -> [KieSimulator.ServerSentEvent] {
        typealias Event = KieSimulator.ServerSentEvent
        switch dialect {
        case .messages:
            var start = body(dialect)
            if case .object(var members) = start {
                for i in members.indices {
                    switch members[i].key {
                    case "content": members[i].value = []
                    case "stop_reason": members[i].value = nil
                    case "usage": members[i].value = ["input_tokens": .int(inputTokens), "output_tokens": 0]
                    default: break
                    }
                }
                start = .object(members)
            }
            return [Event("message_start", ["type": "message_start", "message": start]),
                    Event("content_block_start", ["type": "content_block_start", "index": 0,
                                                  "content_block": ["type": "text", "text": ""]])]
                + pieces.map {
                    Event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                  "delta": ["type": "text_delta", "text": .string($0)]])
                }
                + [Event("content_block_stop", ["type": "content_block_stop", "index": 0]),
                   Event("message_delta", ["type": "message_delta", "delta": ["stop_reason": "end_turn", "stop_sequence": nil],
                                           "usage": ["output_tokens": .int(outputTokens)]]),
                   Event("message_stop", ["type": "message_stop"])]
        case .chatCompletions:
            func chunk(_ delta: JSONValue, finish: JSONValue = nil) -> Event {
                Event(nil, ["id": .string("chatcmpl-sim-\(id)"), "object": "chat.completion.chunk", "created": .int(created),
                            "model": .string(model), "choices": [["index": 0, "delta": delta, "finish_reason": finish]]])
            }
            return [chunk(["role": "assistant", "content": ""])] + pieces.map { chunk(["content": .string($0)]) }
                + [chunk([:], finish: "stop"), Event(rawData: "[DONE]")]
        case .responses:
            return [Event("response.created", ["type": "response.created", "response": response(status: "in_progress", output: [])])]
                + pieces.map {
                    Event("response.output_text.delta", ["type": "response.output_text.delta", "item_id": .string("msg_sim_\(id)"),
                                                         "output_index": 0, "content_index": 0, "delta": .string($0)])
                }
                + [Event("response.output_text.done", ["type": "response.output_text.done", "item_id": .string("msg_sim_\(id)"),
                                                       "output_index": 0, "content_index": 0, "text": .string(text)]),
                   Event("response.completed", ["type": "response.completed", "response": body(dialect)])]
        case .gemini:
            let parts = pieces
            return parts.enumerated().map { Event(nil, gemini($1, finished: $0 == parts.count - 1)) }
        }
    }

    private func message(_ text: String) -> JSONValue {
        ["type": "message", "id": .string("msg_sim_\(id)"), "status": "completed", "role": "assistant",
         "content": [["type": "output_text", "text": .string(text), "annotations": []]]]
    }

    private func response(status: String, output: [JSONValue]) -> JSONValue {
        ["id": .string("resp_sim_\(id)"), "object": "response", "created_at": .int(created), "status": .string(status),
         "model": .string(model), "output": .array(output),
         "usage": status == "completed"
            ? ["input_tokens": .int(inputTokens), "output_tokens": .int(outputTokens),
               "total_tokens": .int(inputTokens + outputTokens)] : nil]
    }

    private func gemini(_ text: String, finished: Bool) -> JSONValue {
        var candidate: [(key: String, value: JSONValue)] = [
            ("content", ["parts": [["text": .string(text)]], "role": "model"]), ("index", 0),
        ]
        var members: [(key: String, value: JSONValue)] = []
        if finished {
            candidate.append(("finishReason", "STOP"))
            members.append(("usageMetadata", ["promptTokenCount": .int(inputTokens), "candidatesTokenCount": .int(outputTokens),
                                              "totalTokenCount": .int(inputTokens + outputTokens)]))
        }
        members.insert(("candidates", [.object(candidate)]), at: 0)
        members.append(("modelVersion", .string(model)))
        return .object(members)
    }
}
