/// Status records and callbacks of every family, read and written by the family table.
extension KieWire {

    // MARK: Reading

    /// A status answer's `data` for a task of `family`; `taskId` (the query's) names the task
    /// when the record does not.
    public static func record(_ data: JSONValue, family: TaskFamily, taskId: String? = nil) throws(KieDecodingError)
        -> TaskReport
    {
        guard case .object = data else { throw KieDecodingError("\(family) record: data is not an object") }
        guard let id = family.statusTaskIDPaths.firstValue(in: data)?.nonEmptyString ?? taskId
        else { throw KieDecodingError("\(family) record: no taskId") }
        var report = TaskReport(taskId: id, family: family, state: .created)
        let stated = try state(in: data, family: family, report: &report)
        guard stated != nil || family.resultsMeanSuccess else { throw KieDecodingError("\(family) record \(id): no state") }
        // Read as running until the state is known, so the fields of a failure are not read.
        report.state = stated ?? .generating
        fill(&report, from: data, family: family, results: family.statusResults)
        if stated == nil, !report.resultURLs.isEmpty { report.state = .success }
        return report
    }

    /// A callback of `family`, from its whole body: as `callback(_:family:taskId:)`, and the
    /// task may also be named beside `data` (Runway Aleph's top-level `taskId`, which
    /// `KieEnvelope` does not keep). A body that is not a JSON object is an error.
    public static func callback(body: JSONValue, family: TaskFamily, taskId: String? = nil) throws(KieDecodingError)
        -> TaskReport
    {
        guard let envelope = KieEnvelope(json: body) else { throw KieDecodingError("\(family) callback: not a JSON object") }
        let outside = family.callbackTaskIDPaths.firstValue(in: body)?.nonEmptyString
        return try callback(envelope, family: family, taskIdBesideData: outside, route: taskId)
    }

    /// A callback of `family`. `taskId` is the task the callback's URL names (its route), used
    /// when the body names none (a Veo 4K failure may come with `data: null`), and when the
    /// body names the Kie id of the route's tracked request (a Veo 4K callback names the
    /// parent's id; the route, `<parent>#4k`).
    ///
    /// A callback is sent when a task ends (or, for families with several callbacks, at each
    /// step): a state the table knows decides; else the body code does (200 success, anything
    /// else a failure). A field the table reads holding a value it does not know (a new state,
    /// a new callback kind), and a callback of a family whose callbacks carry their state
    /// (market) without one, is an error: the caller records the body as it came and relays it.
    public static func callback(_ envelope: KieEnvelope, family: TaskFamily, taskId: String? = nil)
        throws(KieDecodingError) -> TaskReport
    {
        try callback(envelope, family: family, taskIdBesideData: nil, route: taskId)
    }

    static func callback(_ envelope: KieEnvelope, family: TaskFamily, taskIdBesideData: String?, route: String?)
        throws(KieDecodingError) -> TaskReport
    {
        let data = envelope.data
        guard data.isNull || data.objectValue != nil else { throw KieDecodingError("\(family) callback: data is not an object") }
        let ids = family.callbackTaskIDPaths
        let route = route.flatMap { $0.isEmpty ? nil : $0 }
        guard var id = ids.firstValue(in: data)?.nonEmptyString ?? taskIdBesideData ?? route
        else { throw KieDecodingError("\(family) callback: no taskId") }
        if let route, route != id, family.kieTaskID(tracked: route) == id {
            // A Veo 4K callback names the parent's id; the route names the request the agent
            // tracks under it (`<parent>#4k`), which is the task this callback ends.
            id = route
        }
        var report = TaskReport(taskId: id, family: family, state: .created)

        var progress = false
        var failureKind = false
        if case .kinds(let field, let progressKinds, let final, let failure) = family.callbacks {
            let kind: String
            if let value = field.value(in: data) {
                guard let text = value.stringValue?.lowercased() else {
                    throw KieDecodingError("\(family) callback \(id): \(field) is not a string")
                }
                kind = text
            } else {
                kind = final
            }
            guard progressKinds.contains(kind) || kind == final || kind == failure else {
                throw KieDecodingError("\(family) callback \(id): unknown \(field) '\(kind)'")
            }
            report.callbackKind = kind
            progress = progressKinds.contains(kind)
            failureKind = kind == failure
        }
        let stated = try state(in: data, family: family, report: &report)
        if progress, envelope.code == nil || envelope.code == 200 {
            report.state = .generating
        } else if failureKind {
            report.state = .fail
        } else if let stated, stated.isTerminal {
            report.state = stated
        } else if family.shape.callbackIsStatusRecord, stated == nil {
            // Its callbacks are its status record, which always says the state: without one the
            // body is not what the table knows, whatever the code says.
            throw KieDecodingError("\(family) callback \(id): no state")
        } else if let code = envelope.code {
            report.state = code == 200 ? .success : .fail
        } else {
            throw KieDecodingError("\(family) callback \(id): no state and no code")
        }
        fill(&report, from: data, family: family, results: family.callbackResultPaths)
        if report.state == .fail {
            if report.failCode == nil, let code = envelope.code, code != 200 { report.failCode = String(code) }
            report.failMessage = report.failMessage ?? envelope.message.flatMap { $0.isEmpty ? nil : $0 }
            // A failed task has no result: what the fallback fields find (Runway's cover
            // `image_url`) is not one.
            report.resultURLs = []
        } else if report.state == .success {
            report.failCode = nil
            report.failMessage = nil
        }
        return report
    }

    /// The state the record's state fields say (the first field present decides); nil when
    /// none is present. A value the table does not know is an error.
    static func state(in data: JSONValue, family: TaskFamily, report: inout TaskReport) throws(KieDecodingError)
        -> TaskState?
    {
        for field in family.states {
            guard let value = field.path.value(in: data) else { continue }
            guard let meaning = field.meaning(of: value) else {
                throw KieDecodingError("\(family) \(report.taskId): unknown \(field.path) '\(value.stringValue ?? "?")'")
            }
            switch meaning {
            case .state(let state): return state
            case .successCallbackFailed:
                report.callbackFailed = true
                return .success
            case .runningUnlessError:
                return failCode(in: data) != nil || failMessage(in: data) != nil ? .fail : .generating
            }
        }
        return nil
    }

    /// Fields every family spells alike (or in a few known ways): model, times, failure,
    /// results, credits, progress.
    static func fill(_ report: inout TaskReport, from data: JSONValue, family: TaskFamily, results: [FieldPath]) {
        report.model = family.statusModel.firstValue(in: data)?.nonEmptyString.flatMap(ModelCatalogue.sanitize)
        report.createdAt = timestamp(family.createTimePaths.firstValue(in: data))
        report.completedAt = timestamp(family.completeTimePaths.firstValue(in: data))
        if report.state == .fail {
            report.failCode = failCode(in: data)
            report.failMessage = failMessage(in: data)
        }
        for path in results {
            let urls = path.values(in: data).flatMap(urlList)
            if !urls.isEmpty {
                report.resultURLs = urls
                break
            }
        }
        report.creditsConsumed = number(data.first("creditsConsumed", "consumeCredits"), in: TaskReport.plausibleCreditsConsumed)
        report.creditsRemaining = number(data["remainedCredits"], in: TaskReport.plausibleCreditBalance)
        report.progress = progress(data["progress"])
    }

    /// `failCode` / `errorCode`, as text; empty, `0` (Aleph's "no error") and null are none.
    static func failCode(in data: JSONValue) -> String? {
        for key in ["failCode", "errorCode"] {
            if let text = data[key]?.nonEmptyString, text != "0" { return text }
        }
        return nil
    }

    /// `failMsg` / `errorMessage` / `errorMsg`, or Suno's `error` when it is text.
    static func failMessage(in data: JSONValue) -> String? {
        for key in ["failMsg", "errorMessage", "errorMsg"] {
            if let text = data[key]?.nonEmptyString { return text }
        }
        if case .string(let text)? = data["error"], !text.isEmpty { return text }
        return nil
    }

    /// 0–100: a number, or a fraction (`"0.45"`, GPT-4o image: a string with a decimal point,
    /// or a number between 0 and 1 that is not whole) read as percent.
    static func progress(_ value: JSONValue?) -> Int? {
        guard let value, let d = value.doubleValue else { return nil }
        let fraction: Bool
        switch value {
        case .string(let s): fraction = s.contains(".")
        case .double: fraction = d.rounded() != d
        default: fraction = false
        }
        if fraction, (0...1).contains(d) { return Int((d * 100).rounded()) }
        return (0...100).contains(d) ? Int(d) : nil
    }

    static let urlKeys: [FieldPath] = ["resultUrl", "url", "audioUrl", "audio_url", "videoUrl", "video_url", "imageUrl", "image_url"]

    /// URLs in any of the shapes Kie uses: a string, a JSON-encoded array, an array of strings
    /// or of objects naming one URL (`{resultUrl}`, `{audio_url}`), an object with `resultUrls`.
    static func urlList(_ value: JSONValue) -> [String] {
        switch value.unwrappingEmbeddedJSON {
        case .string(let s): return s.isEmpty ? [] : [s]
        case .array(let items): return items.flatMap(urlList)
        case .object:
            if let one = urlKeys.firstValue(in: value)?.nonEmptyString { return [one] }
            return value["resultUrls"].map(urlList) ?? []
        default: return []
        }
    }

    // MARK: Writing

    /// A status answer's `data` for `report`, in the family's documented shape (the simulator's
    /// answers; the base of a synthesized callback for a family whose callback is its record).
    ///
    /// What the family's record cannot say is left out: a model where the record names none,
    /// credits and progress where the family reports none, a completion time before the end.
    public static func statusData(for report: TaskReport, family: TaskFamily) -> JSONValue {
        let shape = family.shape
        var data: JSONValue = .object([])
        data = shape.statusTaskID.writing(.string(report.taskId), into: data)
        if let model = report.model, let path = family.statusModel.first { data = path.writing(.string(model), into: data) }
        for field in family.states {
            // Luma's flag 4 where the field has it; the plain state elsewhere.
            let flagged = report.callbackFailed && report.state == .success ? field.value(for: .successCallbackFailed) : nil
            if let value = flagged ?? field.value(for: report.state) { data = field.path.writing(value, into: data) }
        }
        if report.state == .success, !report.resultURLs.isEmpty {
            data = shape.statusResult.writing(shape.results(report.resultURLs), into: data)
        }
        if report.state == .fail {
            var message = report.failMessage
            if report.failCode == nil, message == nil,
                family.states.contains(where: { $0.values.contains { $0.meaning == .runningUnlessError } })
            {
                // Aleph's failed record is a 0 flag with an error: without one it reads as running.
                message = shape.failureMessage
            }
            data = shape.failCode.writing(shape.failCodeValue(report.failCode), into: data)
            data = shape.failMessage.writing(JSONValue(message), into: data)
        }
        if let created = report.createdAt { data = shape.createTime.writing(shape.time(created), into: data) }
        if let completeTime = shape.completeTime, let completed = report.completedAt, report.state.isTerminal {
            data = completeTime.writing(shape.time(completed), into: data)
        }
        if let credits = report.creditsConsumed, let path = shape.credits { data = path.writing(.double(credits), into: data) }
        if let progress = report.progress, let value = shape.progressValue(progress) {
            data = FieldPath("progress").writing(value, into: data)
        }
        return data
    }

    /// A callback body for `report` in the family's documented shape: what Kie would have sent.
    /// `statusData` is the status record the report was read from, if any (copied members come
    /// from it; for a family whose callback is its record, it is the base).
    public static func callbackBody(for report: TaskReport, family: TaskFamily, statusData: JSONValue = .null) -> JSONValue {
        let shape = family.shape
        let success = report.state == .success
        let running = !report.state.isTerminal
        let code: Int64
        if success || running {
            code = 200
        } else if let own = report.failCode.flatMap({ Int64($0) }), shape.failureCodes.contains(Int(own)) {
            code = own
        } else {
            code = Int64(shape.failureCode)
        }
        var data: JSONValue
        if shape.callbackIsStatusRecord {
            data = recordForCallback(report, family: family, statusData: statusData)
        } else if report.state == .fail, shape.failureDataIsNull {
            data = .null
        } else {
            data = .object([])
            if !shape.callbackTaskIDOutsideData { data = shape.callbackTaskID.writing(.string(report.taskId), into: data) }
            if case .kinds(let field, _, let final, let failure) = family.callbacks {
                let kind = report.callbackKind ?? (report.state == .fail ? failure : final)
                data = field.writing(.string(kind), into: data)
            }
            if !report.resultURLs.isEmpty, !(report.state == .fail) {
                data = shape.callbackResult.writing(shape.results(report.resultURLs), into: data)
            }
            if report.state == .fail, let path = shape.callbackFailMessage, let text = report.failMessage {
                data = path.writing(.string(text), into: data)
            }
            if let credits = report.creditsConsumed, let path = shape.credits {
                data = path.writing(.double(credits), into: data)
            }
            for copy in shape.callbackCopies {
                if let value = copy.from.value(in: statusData) { data = copy.to.writing(value, into: data) }
            }
            for constant in shape.callbackConstants { data = constant.path.writing(constant.value, into: data) }
        }
        // A failure's text goes where the family's callback carries it: in `data` (market's
        // `failMsg`, Suno's `error`) under the family's fixed `msg`, else in `msg` itself (Veo).
        let textInData = shape.callbackIsStatusRecord || (shape.callbackFailMessage != nil && report.failMessage != nil)
        let message =
            success || running ? shape.successMessage
            : textInData ? shape.failureMessage : (report.failMessage ?? shape.failureMessage)
        var body: JSONValue = ["code": .int(code), "msg": .string(message), "data": data]
        if shape.callbackTaskIDOutsideData { body = shape.callbackTaskID.writing(.string(report.taskId), into: body) }
        return body
    }

    /// A family whose callback carries its record (market): the status record when it says
    /// what the report says (the usual case, passed on whole), else that record (or nothing,
    /// when a `501`/`408` answer came without one) completed with the report's id, model,
    /// state and failure, as Kie's failure callback has them.
    static func recordForCallback(_ report: TaskReport, family: TaskFamily, statusData: JSONValue) -> JSONValue {
        if let record = try? KieWire.record(statusData, family: family), record.state == report.state,
            record.failCode == report.failCode
        {
            return statusData
        }
        let shape = family.shape
        var data = statusData.objectValue != nil ? statusData : .object([])
        data = shape.statusTaskID.writing(.string(report.taskId), into: data)
        if let model = report.model, let path = family.statusModel.first { data = path.writing(.string(model), into: data) }
        for field in family.states {
            if let value = field.value(for: report.state) { data = field.path.writing(value, into: data) }
        }
        if report.state == .fail {
            data = shape.statusResult.steps.first.map { FieldPath($0.key).writing(.null, into: data) } ?? data
            data = shape.failCode.writing(report.failCode.map { shape.failCodeValue($0) } ?? .string(""), into: data)
            data = shape.failMessage.writing(.string(report.failMessage ?? ""), into: data)
        }
        return data
    }
}
