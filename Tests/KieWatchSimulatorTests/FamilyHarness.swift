import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Creating and polling tasks of any family of the table, for the family tests.
extension Harness {
    /// A task made by `createTask`: the id Kie answered, the simulator's key for it (a Veo 4K
    /// job's `<parent>#4k...`), and where its callbacks go.
    struct Made {
        var kieID: String
        var tracked: String
        var callBackUrl: String?
        var body: JSONValue
    }

    /// Each family's callbacks go to a URL of their own, so a test can tell them apart.
    static func hookURL(_ family: TaskFamily) -> String { "http://127.0.0.1:9464/hooks/\(family.rawValue)?secret=s" }

    /// A create body `family` accepts (the members Kie's docs show), without `callBackUrl`.
    static func sampleCreate(_ family: TaskFamily, parent: String?) -> JSONValue {
        let parentID: JSONValue = parent.map(JSONValue.string) ?? .null
        switch family.rawValue {
        case "market": return ["model": "kling-2.6/text-to-video", "input": ["prompt": "a red panda", "duration": "5"]]
        case "veo": return ["prompt": "a city at dawn", "model": "veo3_fast", "aspectRatio": "16:9"]
        case "veo_extend": return ["taskId": parentID, "prompt": "and then it rains", "model": "fast"]
        case "veo_4k": return ["taskId": parentID, "index": 0]
        case "runway": return ["prompt": "a fox in the snow", "duration": 5, "quality": "720p", "aspectRatio": "16:9"]
        case "aleph", "luma": return ["prompt": "make it night", "videoUrl": "https://example.invalid/in.mp4"]
        case "suno": return ["prompt": "a calm piano piece", "customMode": false, "instrumental": true, "model": "V4_5"]
        case "gpt4o_image": return ["prompt": "a watercolor fox", "size": "1:1"]
        case "flux_kontext": return ["prompt": "a watercolor fox", "model": "flux-kontext-pro"]
        case "midjourney": return ["taskType": "mj_txt2img", "prompt": "a watercolor fox"]
        default: return ["prompt": "something new"]
        }
    }

    /// Whether a create of `family` names an earlier task (Veo extend and 4K, Runway extend).
    static func needsParent(_ family: TaskFamily, endpoint: TaskFamily.Endpoint) -> Bool {
        family.parentTaskSuffix != nil || SimulatedFamily.of(family).extends.contains(endpoint.label)
    }

    /// POSTs `body` (with `callBackUrl` when given) to `endpoint` and returns the answer.
    func create(_ endpoint: TaskFamily.Endpoint, body: JSONValue, callBackUrl: String?) async -> JSONValue? {
        var body = body
        if let callBackUrl { body = FieldPath("callBackUrl").writing(.string(callBackUrl), into: body) }
        return await request("POST", endpoint.path, body: body.serialized()).json
    }

    /// Creates a task of `family` at its first create endpoint (or `endpoint`); a family whose
    /// create names an earlier task gets a successful one first (made to succeed whatever the
    /// failure rate, and run to its end).
    func createTask(_ family: TaskFamily, endpoint: TaskFamily.Endpoint? = nil, callBackUrl: String? = nil) async throws
        -> Made
    {
        let endpoint = endpoint ?? family.creates[0]
        let url = callBackUrl ?? Self.hookURL(family)
        var parent: String?
        if Self.needsParent(family, endpoint: endpoint) {
            let buildsOn = SimulatedFamily.of(family).buildsOn
            let parentFamily = try #require(
                TaskFamily.all.first { candidate in
                    !Self.needsParent(candidate, endpoint: candidate.creates[0])
                        && buildsOn?.contains(candidate.rawValue) ?? (candidate.status.path == family.status.path)
                })
            let made = try await createTask(parentFamily, callBackUrl: Self.hookURL(parentFamily))
            succeed(made.tracked)
            let task = try #require(simulator.task(id: made.tracked))
            await advance(millis: max(task.completeAt - clock.now(), 0))
            parent = made.kieID
        }
        let body = Self.sampleCreate(family, parent: parent)
        let answer = try #require(await create(endpoint, body: body, callBackUrl: url))
        let id = try #require(answer["data"]?["taskId"]?.stringValue, "\(family): \(answer.serialized())")
        return Made(kieID: id, tracked: family.trackedTaskID(kieTaskID: id, create: body), callBackUrl: url, body: body)
    }

    /// Makes a task end in success whatever its drawn fate.
    func succeed(_ id: String) {
        simulator.state.withLock { $0.tasks[id]?.plan.failure = nil }
    }

    /// The status call of `family` about Kie's task `id` (Veo 4K: its request sent again, index 0).
    func status(_ family: TaskFamily, _ id: String) async -> HTTPResponse {
        let endpoint = family.status
        guard endpoint.method == "GET" else {
            let body: JSONValue = .object([(endpoint.taskIdParameter, .string(id)), ("index", 0)])
            return await request(endpoint.method, endpoint.path, body: body.serialized())
        }
        return await request("GET", "\(endpoint.path)?\(endpoint.taskIdParameter)=\(id)")
    }

    /// The callbacks received at `url`, in order.
    func callbacks(to url: String?) -> [RecordingSender.Post] { sender.received.filter { $0.url == url } }
}

extension RecordingSender.Post {
    /// The callback as the agent reads it for `family` (`taskId`: the task its URL names).
    func report(_ family: TaskFamily, taskId: String) throws -> TaskReport {
        let envelope = try #require(KieEnvelope(body: body))
        return try KieWire.callback(envelope, family: family, taskId: taskId)
    }
}
