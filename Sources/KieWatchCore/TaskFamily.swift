/// One Kie task family, as data: where its tasks are created and polled, where its task id,
/// state, result, failure and credits sit in status answers and callbacks, how many callbacks
/// a task gets, and how often its status may be polled. The proxy, the webhook receiver,
/// recovery, the console, the metrics and the simulator all read this table
/// (`TaskFamily.all`, in `TaskFamily+Catalogue.swift`); adding a Kie family is one entry there
/// plus samples and tests.
///
/// `rawValue` is what the store keeps in its `family` columns: `market` and `veo` are the
/// values stored before the table existed.
///
/// A class: every task, callback and row names its family, and a copy of a reference is one
/// retain where a copy of this many members would be dozens (the webhook path's cost).
public final class TaskFamily: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    /// How people name it: "Runway Aleph".
    public let title: String
    /// The calls that create a task (POST), each with its `endpoint` label.
    public let creates: [Endpoint]
    /// The status call (GET `path?<taskIdParameter>=ID`) that is the final authority for a task.
    public let status: Endpoint
    /// The agent's webhook path for this family; a route's token follows it.
    public let webhookPath: String
    /// How a create names the model; tasks of families without one get the default.
    public let model: ModelRule
    /// Where the task's state sits, tried in order (the first field present decides).
    public let states: [StateField]
    /// Where the result URLs sit in a status answer's `data` and in a callback's `data`.
    public let statusResults: [FieldPath]
    public let callbackResults: [FieldPath]
    /// The model a status answer names (market `model`, Veo `paramJson.model`), if any.
    public let statusModel: [FieldPath]
    /// Callbacks a task gets: one, or several kinds (Suno's `text`, `first`, `complete`).
    public let callbacks: CallbackPlan
    /// The create names an existing task whose id Kie answers again (Veo 4K): the agent tracks
    /// the request as its own task, keyed `<parent id>#<suffix><index>` (`trackedTaskID`).
    public let parentTaskSuffix: String?
    /// The least time between two recovery polls of one task (Kie asks Luma clients for 30 s).
    public let minimumPollIntervalMillis: Int64
    /// Status answers that mean "still running" though their code is not 200 (Veo 4K: 422
    /// "4k is processing"): a code and a fragment of the message, in any letter case.
    public let runningAnswers: [RunningAnswer]
    /// Status answers that mean the task failed though their code is not 501/408 (Veo 4K: 500
    /// "The 4K version of this video is unavailable").
    public let failedAnswers: [RunningAnswer]
    /// A status answer with no state field: a result means success, none means still running
    /// (Veo 4K's answer `{taskId, resultUrls, imageUrls}`, `resultUrls` null until ready).
    public let resultsMeanSuccess: Bool
    /// How the agent writes a callback of this family when it recovered the task by polling,
    /// and how the simulator writes status answers and callbacks.
    public let shape: WireShape

    init(
        rawValue: String, title: String, creates: [Endpoint], status: Endpoint, webhookPath: String, model: ModelRule,
        states: [StateField], statusResults: [FieldPath], callbackResults: [FieldPath], statusModel: [FieldPath],
        callbacks: CallbackPlan, parentTaskSuffix: String?, minimumPollIntervalMillis: Int64,
        runningAnswers: [RunningAnswer], failedAnswers: [RunningAnswer] = [], resultsMeanSuccess: Bool = false,
        shape: WireShape
    ) {
        self.rawValue = rawValue
        self.title = title
        self.creates = creates
        self.status = status
        self.webhookPath = webhookPath
        self.model = model
        self.states = states
        self.statusResults = statusResults
        self.callbackResults = callbackResults
        self.statusModel = statusModel
        self.callbacks = callbacks
        self.parentTaskSuffix = parentTaskSuffix
        self.minimumPollIntervalMillis = minimumPollIntervalMillis
        self.runningAnswers = runningAnswers
        self.failedAnswers = failedAnswers
        self.resultsMeanSuccess = resultsMeanSuccess
        self.shape = shape
        let ids = [shape.callbackTaskID] + Self.callbackTaskIDs
        callbackTaskIDPaths = ids
        statusTaskIDPaths = [shape.statusTaskID] + Self.callbackTaskIDs
        callbackResultPaths = callbackResults + Self.fallbackCallbackResults
        createTimePaths = [shape.createTime, "createTime", "createdTime"]
        completeTimePaths = (shape.completeTime.map { [$0] } ?? []) + ["completeTime", "completedTime"]
    }

    // Where the readers look, worked out once per family (a callback reads them all).
    /// The task id in a callback: the family's spelling, then every other.
    let callbackTaskIDPaths: [FieldPath]
    let statusTaskIDPaths: [FieldPath]
    /// The family's result paths, then the fallbacks every callback may use.
    let callbackResultPaths: [FieldPath]
    /// The family's own time spellings first (Runway's `generateTime`), then the common ones.
    let createTimePaths: [FieldPath]
    let completeTimePaths: [FieldPath]

    public var description: String { rawValue }
    /// One instance per family (the table's), so identity is equality; a name compare stays
    /// right should another instance ever be made.
    public static func == (a: TaskFamily, b: TaskFamily) -> Bool { a === b || a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// Every family the agent knows.
    public static var allCases: [TaskFamily] { all }

    // MARK: Parts

    /// One HTTP call of the family: its path and its `endpoint` label (bounded: the table's).
    public struct Endpoint: Sendable, Hashable {
        public let path: String
        public let label: String
        /// The query parameter that names the task (status calls), or the JSON body member
        /// when the status call is a POST.
        public let taskIdParameter: String
        /// GET for every status call but Veo 4K's, which is its own request sent again (POST).
        public let method: String
        public init(_ path: String, label: String, taskIdParameter: String = "taskId", method: String = "GET") {
            self.path = path
            self.label = label
            self.taskIdParameter = taskIdParameter
            self.method = method
        }
    }

    /// The status call for a tracked task: `GET path?taskId=<Kie id>` (the id left for the
    /// caller to percent-encode into `query`), or for a POST status (Veo 4K) the body
    /// `{"taskId": <Kie id>, "index": n}` without a callBackUrl, as Kie's docs poll it.
    public func statusRequest(trackedID: String) -> (method: String, kieTaskID: String, body: [UInt8]) {
        let kieID = kieTaskID(tracked: trackedID)
        guard status.method == "POST" else { return ("GET", kieID, []) }
        var members: [(key: String, value: JSONValue)] = [(status.taskIdParameter, .string(kieID))]
        if let index = requestIndex(tracked: trackedID) { members.append(("index", .int(Int64(index)))) }
        return ("POST", kieID, JSONValue.object(members).serializedBytes())
    }

    /// How a create names its model.
    public struct ModelRule: Sendable, Hashable {
        /// The create body's member naming the model (`model`, Midjourney's `taskType`).
        public let key: String?
        /// Put before the value, so a family's models stay apart (`suno/V4_5`).
        public let prefix: String
        /// The model of a create that names none (Kie's default, or the family's name).
        public let fallback: String?
        public init(key: String? = "model", prefix: String = "", fallback: String? = nil) {
            self.key = key
            self.prefix = prefix
            self.fallback = fallback
        }
    }

    /// One place a state may be written, with the meaning of each value.
    public struct StateField: Sendable {
        public let path: FieldPath
        /// Every spelling with its meaning; the first spelling of a meaning is the one written.
        public let values: [(spelling: String, meaning: StateMeaning)]
        /// The values are numbers (`successFlag`), written as JSON numbers.
        public let numeric: Bool
        /// Values by their lowercased spelling (numbers as their decimal text).
        let meanings: [String: StateMeaning]

        public init(_ path: FieldPath, _ values: [(String, StateMeaning)]) {
            self.path = path
            self.values = values.map { (spelling: $0.0, meaning: $0.1) }
            numeric = values.allSatisfy { Int64($0.0) != nil }
            var meanings: [String: StateMeaning] = [:]
            for (spelling, meaning) in values where meanings[spelling.lowercased()] == nil {
                meanings[spelling.lowercased()] = meaning
            }
            self.meanings = meanings
        }

        /// The meaning of a value found at `path`; nil for a spelling the table does not know.
        public func meaning(of value: JSONValue) -> StateMeaning? {
            guard let text = value.stringValue else { return nil }
            return meanings[text.lowercased()]
        }

        /// The value this field holds for `state`: the first spelling with that meaning, else
        /// one that reads as it (any running spelling for a running state; Aleph's "0" with an
        /// error for a failure). nil when the field has none.
        public func value(for state: TaskState) -> JSONValue? {
            let spelling =
                values.first(where: { $0.meaning == .state(state) })?.spelling
                ?? values.first(where: { entry in
                    if case .state(let s) = entry.meaning { return !state.isTerminal && !s.isTerminal }
                    return false
                })?.spelling
                ?? values.first(where: { $0.meaning == .runningUnlessError && state != .success })?.spelling
            return spelling.map(json)
        }

        /// The value this field holds for `meaning` (Luma's flag 4), if any.
        public func value(for meaning: StateMeaning) -> JSONValue? {
            values.first(where: { $0.meaning == meaning }).map { json($0.spelling) }
        }

        private func json(_ spelling: String) -> JSONValue {
            if numeric, let n = Int64(spelling) { return .int(n) }
            return .string(spelling)
        }
    }

    /// What a state value means.
    public enum StateMeaning: Sendable, Hashable {
        case state(TaskState)
        /// Generation succeeded but Kie's callback did not reach the agent (Luma's flag 4):
        /// the task is done and its webhook is already missed.
        case successCallbackFailed
        /// In progress, or failed when the record carries an error (Runway Aleph's flag 0).
        case runningUnlessError
    }

    /// Callbacks a task gets.
    public enum CallbackPlan: Sendable, Hashable {
        /// One callback, at the end.
        case single
        /// Several kinds named by a field (`data.callbackType`): `progress` kinds come while the
        /// task runs, then `final` (or `failure`) ends it. Each kind is relayed once.
        case kinds(field: FieldPath, progress: [String], final: String, failure: String)

        /// The kinds that come while the task runs (none for `.single`).
        public var progress: [String] {
            if case .kinds(_, let progress, _, _) = self { progress } else { [] }
        }

        /// The kinds in the order a task gets them.
        public var kinds: [String] {
            switch self {
            case .single: []
            case .kinds(_, let progress, let final, _): progress + [final]
            }
        }
    }

    public struct RunningAnswer: Sendable, Hashable {
        public let code: Int
        public let messageContains: String
        public init(code: Int, messageContains: String) {
            self.code = code
            self.messageContains = messageContains
        }
    }

    // MARK: Lookup

    static let byName: [String: TaskFamily] = Dictionary(uniqueKeysWithValues: all.map { ($0.rawValue, $0) })

    /// What a request path is for a family: a create, or a status call.
    public enum Role: Sendable, Hashable {
        case create(TaskFamily, Endpoint)
        /// Families sharing a status endpoint (Veo, extend, 4K) read its answers alike; `family`
        /// is the first of them.
        case status(TaskFamily, Endpoint)
    }

    static let roles: [String: Role] = {
        var roles: [String: Role] = [:]
        for family in all {
            for create in family.creates where roles[create.path] == nil { roles[create.path] = .create(family, create) }
            if roles[family.status.path] == nil { roles[family.status.path] = .status(family, family.status) }
        }
        return roles
    }()

    /// The role of a path without its query, if it is one of the table's.
    public static func role(ofPath path: Substring) -> Role? { roles[String(path)] }

    /// Every `endpoint` label the table defines, in table order without repeats.
    public static let endpointLabels: [String] = {
        var seen = Set<String>()
        var labels: [String] = []
        for family in all {
            for endpoint in family.creates + [family.status] where seen.insert(endpoint.label).inserted {
                labels.append(endpoint.label)
            }
        }
        return labels
    }()

    // MARK: Reading a create

    /// The model a create body names, by this family's rule; the fallback when it names none.
    public func model(inCreate json: JSONValue) -> String? {
        if let key = model.key, let raw = json[key]?.nonEmptyString, let clean = ModelCatalogue.sanitize(model.prefix + raw) {
            return clean
        }
        return model.fallback
    }

    /// The id the agent tracks a task by: Kie's task id, or for a family whose create names an
    /// existing task (Veo 4K), that id with the family's suffix and the create's `index`, so the
    /// request is its own task and never mistaken for its parent.
    public func trackedTaskID(kieTaskID: String, create json: JSONValue?) -> String {
        guard let suffix = parentTaskSuffix else { return kieTaskID }
        let index = json?["index"]?.intValue.flatMap { $0 > 0 && $0 < 1_000_000 ? $0 : nil }
        return kieTaskID + "#" + suffix + (index.map(String.init) ?? "")
    }

    /// The id Kie knows a tracked task by (the parent's, for a Veo 4K request). Only a tail
    /// `trackedTaskID` writes (`#<suffix>` and digits) is taken off: a `#` in Kie's own id stays.
    public func kieTaskID(tracked id: String) -> String {
        guard let suffix = parentTaskSuffix, let hash = id.lastIndex(of: "#") else { return id }
        let tail = id[id.index(after: hash)...]
        guard tail.hasPrefix(suffix), tail.dropFirst(suffix.count).allSatisfy({ $0.isASCII && $0.isNumber }) else { return id }
        return String(id[..<hash])
    }

    /// The id Kie knows a tracked task by, whatever its family (what a relay signs, as Kie
    /// signs its callback): the tail a family reusing its parent's id adds is taken off.
    public static func kieTaskID(tracked id: String) -> String {
        for family in all where family.parentTaskSuffix != nil {
            let kieID = family.kieTaskID(tracked: id)
            if kieID != id { return kieID }
        }
        return id
    }

    /// The `index` a tracked id names (`<parent>#4k2` is 2; no digits, 0); nil for an id that is
    /// not a tracked request of this family.
    public func requestIndex(tracked id: String) -> Int? {
        guard let suffix = parentTaskSuffix, let hash = id.lastIndex(of: "#") else { return nil }
        let tail = id[id.index(after: hash)...]
        guard tail.hasPrefix(suffix) else { return nil }
        let digits = tail.dropFirst(suffix.count)
        if digits.isEmpty { return 0 }
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The parent task a create names (Veo 4K's `taskId`), for families that have one.
    public func parentTaskID(inCreate json: JSONValue?) -> String? {
        guard parentTaskSuffix != nil else { return nil }
        return json?.first("taskId", "task_id")?.nonEmptyString
    }
}

extension TaskFamily {
    /// The family a stored `family` value names; nil for a value no entry has.
    public static func named(_ rawValue: String) -> TaskFamily? { byName[rawValue] }
}
