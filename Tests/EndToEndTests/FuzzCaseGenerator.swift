import KieWatchCore
import KieWatchHTTP
import KieWatchSimulator
import KieWatchTestSupport

/// A JSON object written member by member from raw JSON text, so a member's value can be
/// anything, including text that is not JSON.
struct RawObject {
    var members: [(key: String, raw: String)]

    init(_ members: [(String, String)]) { self.members = members.map { (key: $0.0, raw: $0.1) } }

    /// Replaces the first member `key`, or appends it.
    mutating func set(_ key: String, _ raw: String) {
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].raw = raw } else { members.append((key, raw)) }
    }

    var text: String { "{" + members.map { "\"\($0.key)\":\($0.raw)" }.joined(separator: ",") + "}" }
}

/// A callback body as envelope and data, both editable as raw JSON.
struct CallbackDraft {
    var family: TaskFamily
    var envelope: RawObject
    var data: RawObject

    var bytes: [UInt8] {
        var outer = envelope
        outer.set("data", data.text)
        return Array(outer.text.utf8)
    }

    static func quoted(_ s: String) -> String { JSONValue.string(s).serialized() }
}

/// Draws one case; `random` is the case's own generator.
struct CaseGenerator {
    let corpus: FuzzCorpus
    var random: SeededRandom
    let now: Int64

    init(corpus: FuzzCorpus, random: SeededRandom, now: Int64) {
        self.corpus = corpus
        self.random = random
        self.now = now
    }

    typealias Header = (name: String, value: [UInt8])

    mutating func make(_ category: FuzzCategory, slot: Int) -> FuzzCase {
        switch category {
        case .validMarket: return validDelivery(family: .market)
        case .validVeo: return validDelivery(family: .veo)
        case .validFamily: return familyDelivery()
        case .validKnown: return knownDelivery(corpus.knownTasks[slot], label: "valid.known")
        case .duplicate:
            return corpus.knownTasks.isEmpty
                ? validDelivery(family: .market) : knownDelivery(random.pick(corpus.knownTasks), label: "valid.duplicate")
        case .knownNumber: return numberMutation(task: corpus.numberTasks[slot])
        case .number: return numberMutation(task: nil)
        case .jsonType: return jsonType()
        case .jsonNesting: return jsonNesting()
        case .jsonUTF8: return jsonUTF8()
        case .jsonTruncated: return jsonTruncated()
        case .jsonBytes: return jsonBytes()
        case .jsonShape: return jsonShape()
        case .secret: return secretMutation()
        case .signature: return signatureMutation()
        case .timestamp: return timestampMutation()
        case .headers: return headerVariant()
        case .contentLength: return contentLengthGarbage()
        case .chunked: return chunkedGarbage()
        case .requestLine: return requestLineGarbage()
        case .headerSyntax: return headerSyntaxGarbage()
        case .pipelinedGarbage: return pipelinedGarbage()
        case .earlyClose: return earlyClose()
        case .randomBytes: return randomBytes()
        case .closing: return closingDelivery()
        case .proxy: return proxyCall()
        case .routes: return routeCall()
        }
    }

    // MARK: Bodies

    mutating func freshTaskID() -> String { "fz" + random.hex(count: 24) }

    /// A realistic callback for `taskID`, in one of the shapes Kie sends.
    mutating func callback(family: TaskFamily, taskID: String) -> CallbackDraft {
        let nowMillis = now * 1000
        let id = CallbackDraft.quoted(taskID)
        switch family {
        case .market:
            let success = random.chance(0.8)
            let model = random.pick(FuzzCorpus.marketModels)
            var data = RawObject([
                ("taskId", id), ("model", CallbackDraft.quoted(model)), ("state", success ? "\"success\"" : "\"fail\""),
                ("param", CallbackDraft.quoted("{\"model\":\"\(model)\",\"callBackUrl\":\"https://app.example/cb\",\"input\":{\"prompt\":\"a lighthouse\"}}")),
            ])
            if success {
                switch random.integer(in: 0...2) {
                case 0: data.set("resultJson", CallbackDraft.quoted("{\"resultUrls\":[\"https://cdn.example/\(taskID).mp4\"]}"))
                case 1: data.set("resultJson", "{\"resultUrls\":[\"https://cdn.example/v.mp4\"]}")
                default: data.set("resultJson", "null")
                }
                data.set("failCode", random.chance(0.5) ? "\"\"" : "null")
                data.set("failMsg", "\"\"")
            } else {
                data.set("resultJson", "null")
                data.set("failCode", random.chance(0.5) ? "\"500\"" : "422")
                data.set("failMsg", "\"content policy\"")
            }
            data.set("costTime", String(random.integer(in: 1...600)))
            data.set("completeTime", String(nowMillis - Int64(random.integer(in: 0...5_000))))
            data.set("createTime", String(nowMillis - Int64(random.integer(in: 10_000...900_000))))
            data.set("updateTime", String(nowMillis))
            if random.chance(0.25) {
                data.set("consumeCredits", String(random.integer(in: 0...100)))
                data.set("remainedCredits", String(random.integer(in: 0...100_000)))
            } else {
                data.set("creditsConsumed", random.chance(0.5) ? "12.5" : String(random.integer(in: 0...100)))
            }
            if random.chance(0.2) { data.set("progress", "100") }
            let envelope = RawObject([
                ("code", success ? "200" : "501"),
                ("msg", success ? "\"Playground task completed successfully.\"" : "\"Playground task failed.\""),
            ])
            return CallbackDraft(family: .market, envelope: envelope, data: data)
        default:
            let success = random.chance(0.8)
            var data = RawObject([("taskId", id)])
            if success {
                data.set(
                    "info",
                    "{\"resultUrls\":[\"https://cdn.example/\(taskID).mp4\"],\"originUrls\":[\"https://cdn.example/o.mp4\"],\"resolution\":\"1080p\"}")
            }
            data.set("fallbackFlag", "false")
            let code = success ? "200" : random.pick(["400", "422", "500", "501"])
            let envelope = RawObject([("code", code), ("msg", success ? "\"Veo3 video generated successfully.\"" : "\"generation failed\"")])
            return CallbackDraft(family: .veo, envelope: envelope, data: data)
        }
    }

    // MARK: Requests

    var secretQuery: String { "secret=" + percentEncode(corpus.secret) }

    func path(_ family: TaskFamily) -> String { family.webhookPath }

    /// `X-Webhook-Timestamp` and a signature over `taskID` and it.
    func signatureHeaders(taskID: String, timestamp: String? = nil, key: String? = nil) -> [Header] {
        let stamp = timestamp ?? String(now)
        let signature = Self.sign(taskID: taskID, timestamp: stamp, key: key ?? corpus.hmacKey)
        return [("X-Webhook-Timestamp", Array(stamp.utf8)), ("X-Webhook-Signature", Array(signature.utf8))]
    }

    static func sign(taskID: String, timestamp: String, key: String) -> String {
        Base64.encode(HMACSHA256.authenticationCode(key: Array(key.utf8), message: Array("\(taskID).\(timestamp)".utf8)))
    }

    /// A whole request; `contentLength` nil writes the exact length, `[]` none at all.
    static func request(
        method: String = "POST", target: String, version: String = "HTTP/1.1", headers: [Header], body: [UInt8],
        contentLength: [String]? = nil
    ) -> [UInt8] {
        var out = Array("\(method) \(target) \(version)\r\nHost: 127.0.0.1\r\n".utf8)
        for header in headers {
            out += Array(header.name.utf8) + Array(": ".utf8) + header.value + Array("\r\n".utf8)
        }
        for value in contentLength ?? [String(body.count)] { out += Array("Content-Length: \(value)\r\n".utf8) }
        out += Array("\r\n".utf8)
        return out + body
    }

    /// A delivery of `body`, authenticated and signed for whatever task id the decoder reads,
    /// judged by the decoder: 200 and stored, or 400.
    mutating func delivery(
        label: String, family: TaskFamily, body: [UInt8], extraHeaders: [Header] = [], alone: Bool = false
    ) -> FuzzCase {
        let report = FuzzCorpus.decode(body, family: family)
        let headers = [("Content-Type", Array("application/json".utf8))] + signatureHeaders(taskID: report?.taskId ?? "none")
            + extraHeaders
        let bytes = Self.request(target: path(family) + "?" + secretQuery, headers: headers, body: body)
        let statuses: Set<Int> = report == nil ? [400] : [200]
        return FuzzCase(
            index: 0, label: label, bytes: bytes, expectation: alone ? .alone(first: statuses) : .answer(statuses),
            taskID: report?.taskId)
    }

    mutating func validDelivery(family: TaskFamily) -> FuzzCase {
        var draft = callback(family: family, taskID: freshTaskID())
        var label = family == .veo ? "valid.veo" : "valid.market"
        var extra: [Header] = []
        switch random.integer(in: 0...9) {
        case 0:
            // The secret as Kie's callers also send it.
            let draftBody = draft.bytes
            let report = FuzzCorpus.decode(draftBody, family: family)
            let headers: [Header] =
                [("Authorization", Array("Bearer \(corpus.secret)".utf8))]
                + signatureHeaders(taskID: report?.taskId ?? "none")
            return FuzzCase(
                index: 0, label: label + ".bearer",
                bytes: Self.request(target: path(family), headers: headers, body: draftBody),
                expectation: .answer(report == nil ? [400] : [200]), taskID: report?.taskId)
        case 1:
            draft.data.set("note", CallbackDraft.quoted("многоязычный 多语言 🎬 \u{202E}rtl \u{0301}"))
            label += ".unicode"
        case 2:
            draft.data.set("extra", "{\"nested\":{\"deeper\":[1,2,{\"x\":null}]},\"escaped\":\"a\\\"b\\\\c\\n\\u00e9\"}")
            label += ".extra"
        case 3:
            extra.append(("X-Request-Id", Array(random.hex(count: 16).utf8)))
            extra.append(("User-Agent", Array("Kie-Callback/1.0".utf8)))
        default:
            break
        }
        return delivery(label: label, family: family, body: draft.bytes, extraHeaders: extra)
    }

    /// A callback of a family other than market and Veo, written by the family table, with a
    /// random state (and kind, for Suno), to that family's webhook path.
    mutating func familyDelivery() -> FuzzCase {
        let family = random.pick(TaskFamily.all.filter { $0 != .market && $0 != .veo })
        let state = random.pick([TaskState.success, .fail, .generating])
        var report = TaskReport(
            taskId: freshTaskID(), family: family, state: state, failCode: state == .fail ? "500" : nil,
            failMessage: state == .fail ? "failed" : nil, resultURLs: state == .success ? ["https://cdn.example/r.mp4"] : [])
        if !family.callbacks.kinds.isEmpty { report.callbackKind = random.pick(family.callbacks.kinds) }
        let body = KieWire.callbackBody(for: report, family: family).serializedBytes()
        return delivery(label: "valid.\(family.rawValue)", family: family, body: body)
    }

    mutating func knownDelivery(_ task: FuzzKnownTask, label: String) -> FuzzCase {
        let draft = callback(family: task.family, taskID: task.id)
        return delivery(label: label + "." + task.family.rawValue, family: task.family, body: draft.bytes)
    }

    // MARK: Numbers and JSON

    mutating func numberMutation(task: FuzzKnownTask?) -> FuzzCase {
        let family = task?.family ?? (random.chance(0.7) ? .market : .veo)
        var draft = callback(family: family, taskID: task?.id ?? freshTaskID())
        let field = random.pick(FuzzCorpus.numericFields)
        let value = random.pick(FuzzInputs.absurdJSONNumbers)
        if field == "code" { draft.envelope.set("code", value) } else { draft.data.set(field, value) }
        var label = "json.number.\(field)=\(value)"
        if random.chance(0.2) {
            let second = random.pick(FuzzCorpus.numericFields.filter { $0 != field && $0 != "code" })
            let secondValue = random.pick(FuzzInputs.absurdJSONNumbers)
            draft.data.set(second, secondValue)
            label += "+\(second)=\(secondValue)"
        }
        if task != nil { label += "@known" }
        return delivery(label: label, family: family, body: draft.bytes)
    }

    mutating func jsonType() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let id = freshTaskID()
        var draft = callback(family: family, taskID: id)
        let wrong = ["[]", "{}", "\"\"", "\"x\"", "1", "-1", "1.5", "1e400", "-0", "true", "false", "null", "[\"\(id)\"]", "{\"taskId\":\"\(id)\"}"]
        switch random.integer(in: 0...7) {
        case 0:
            let root = random.pick(["[]", "\"str\"", "123", "null", "true", "", " ", "[{\"data\":{}}]", "\"{\\\"code\\\":200}\""])
            return delivery(label: "json.type.root=\(root)", family: family, body: Array(root.utf8))
        case 1:
            let value = random.pick(wrong)
            draft.envelope.set("data", value)
            return delivery(label: "json.type.data=\(value)", family: family, body: Array(draft.envelope.text.utf8))
        case 2:
            let value = random.pick(wrong + ["\"\(id)\u{1F3AC}\"", "\"\(String(repeating: "a", count: 5_000))\""])
            draft.data.set("taskId", value)
            return delivery(label: "json.type.taskId=\(value.prefix(40))", family: family, body: draft.bytes)
        case 3:
            let value = random.pick(wrong + ["\"SUCCESS\"", "\"generating\"", "\"queued\"", "\"unknown\"", "\"success \""])
            draft.data.set(family == .veo ? "successFlag" : "state", value)
            return delivery(label: "json.type.state=\(value)", family: family, body: draft.bytes)
        case 4:
            let value = random.pick(wrong)
            draft.envelope.set("msg", value)
            return delivery(label: "json.type.msg=\(value)", family: family, body: draft.bytes)
        case 5:
            let value = random.pick(wrong + ["\"{\\\"resultUrls\\\":\\\"not a list\\\"}\"", "\"[1,2\"", "\"{\\\"resultUrls\\\":[1,null,{}]}\""])
            draft.data.set(family == .veo ? "info" : "resultJson", value)
            return delivery(label: "json.type.result=\(value)", family: family, body: draft.bytes)
        case 6:
            let value = random.pick(wrong)
            draft.data.set(family == .veo ? "paramJson" : "model", value)
            return delivery(label: "json.type.model=\(value)", family: family, body: draft.bytes)
        default:
            let value = random.pick(wrong)
            draft.data.set(family == .veo ? "response" : "failMsg", value)
            return delivery(label: "json.type.other=\(value)", family: family, body: draft.bytes)
        }
    }

    mutating func jsonNesting() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let depth = random.pick([10, 200, 252, 253, 254, 255, 256, 257, 300, 5_000, 100_000])
        switch random.integer(in: 0...3) {
        case 0:
            let body = Array(repeating: UInt8(ascii: "["), count: depth)
            return delivery(label: "json.nesting.open=\(depth)", family: family, body: body)
        case 1:
            let body = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            return delivery(label: "json.nesting.balanced=\(depth)", family: family, body: Array(body.utf8))
        case 2:
            var draft = callback(family: family, taskID: freshTaskID())
            let inner = min(depth, 20_000)
            draft.data.set("extra", String(repeating: "{\"a\":[", count: inner / 2) + "1" + String(repeating: "]}", count: inner / 2))
            return delivery(label: "json.nesting.field=\(inner)", family: family, body: draft.bytes)
        default:
            var draft = callback(family: family, taskID: freshTaskID())
            let inner = min(depth, 20_000)
            let embedded = String(repeating: "[", count: inner) + String(repeating: "]", count: inner)
            draft.data.set(family == .veo ? "info" : "resultJson", CallbackDraft.quoted(embedded))
            return delivery(label: "json.nesting.embedded=\(inner)", family: family, body: draft.bytes)
        }
    }

    mutating func jsonUTF8() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let draft = callback(family: family, taskID: freshTaskID())
        var body = draft.bytes
        let bad = random.pick(FuzzInputs.invalidUTF8)
        let inString = random.chance(0.7)
        let position: Int
        if inString, let quote = quotePositions(body).randomElement(using: &random) {
            position = quote + 1  // just inside a string (a key or a value)
        } else {
            position = random.integer(in: 0...body.count)
        }
        body.insert(contentsOf: bad, at: position)
        let hex = bad.map { String($0, radix: 16) }.joined(separator: " ")
        return delivery(label: "json.utf8.\(inString ? "string" : "anywhere")=\(hex)", family: family, body: body)
    }

    mutating func jsonTruncated() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        let cut = random.integer(in: 0...(body.count - 1))
        return delivery(label: "json.truncated", family: family, body: Array(body.prefix(cut)))
    }

    mutating func jsonBytes() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        var body = callback(family: family, taskID: freshTaskID()).bytes
        for _ in 0..<random.integer(in: 1...4) { body = FuzzInputs.mutate(body, using: &random) }
        return delivery(label: "json.bytes", family: family, body: body)
    }

    mutating func jsonShape() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let id = freshTaskID()
        var draft = callback(family: family, taskID: id)
        switch random.integer(in: 0...11) {
        case 0:
            return delivery(label: "json.shape.bom", family: family, body: [0xEF, 0xBB, 0xBF] + draft.bytes)
        case 1:
            let junk = random.pick(["x", ",", "}", "{}", "\u{0}", "//", "\r\n\r\n", " \t\n "])
            return delivery(label: "json.shape.trailing=\(junk.debugDescription)", family: family, body: draft.bytes + Array(junk.utf8))
        case 2:
            return delivery(label: "json.shape.leading-space", family: family, body: Array(" \n\t\r".utf8) + draft.bytes)
        case 3:
            draft.data.members.insert((key: "taskId", raw: CallbackDraft.quoted(freshTaskID())), at: 0)
            return delivery(label: "json.shape.duplicate-taskId", family: family, body: draft.bytes)
        case 4:
            let raw = "{\"code\":200,\"data\":{\"taskId\":\"\(freshTaskID())\"},\"data\":\(draft.data.text)}"
            return delivery(label: "json.shape.duplicate-data", family: family, body: Array(raw.utf8))
        case 5:
            draft.data.set("failMsg", CallbackDraft.quoted(String(repeating: "x", count: random.integer(in: 10_000...100_000))))
            return delivery(label: "json.shape.long-string", family: family, body: draft.bytes)
        case 6:
            for i in 0..<random.integer(in: 100...2_000) { draft.data.members.append((key: "k\(i)", raw: String(i))) }
            return delivery(label: "json.shape.many-members", family: family, body: draft.bytes)
        case 7:
            let urls = (0..<random.integer(in: 100...1_000)).map { "\"https://cdn.example/\($0).mp4\"" }.joined(separator: ",")
            draft.data.set(family == .veo ? "info" : "resultJson", "{\"resultUrls\":[\(urls)]}")
            return delivery(label: "json.shape.many-urls", family: family, body: draft.bytes)
        case 8:
            let escape = random.pick(FuzzInputs.awkwardEscapes)
            draft.data.set("taskId", "\"\(id)\(escape)\"")
            return delivery(label: "json.shape.escape-taskId=\(escape)", family: family, body: draft.bytes)
        case 9:
            let escape = random.pick(FuzzInputs.awkwardEscapes)
            draft.envelope.set("msg", "\"\(escape)\"")
            return delivery(label: "json.shape.escape-msg=\(escape)", family: family, body: draft.bytes)
        case 10:
            var body = draft.bytes
            let quote = quotePositions(body).randomElement(using: &random) ?? 0
            body.insert(UInt8(random.integer(in: 0...0x1F)), at: quote + 1)
            return delivery(label: "json.shape.raw-control", family: family, body: body)
        default:
            let variants = ["{'code':200}", "{\"code\":200,}", "{\"code\":200 /* c */}", "{code:200}", "{\"a\"::1}", "{\"a\":1,,\"b\":2}"]
            let raw = random.pick(variants)
            return delivery(label: "json.shape.syntax=\(raw)", family: family, body: Array(raw.utf8))
        }
    }

    func quotePositions(_ bytes: [UInt8]) -> [Int] {
        bytes.indices.filter { bytes[$0] == UInt8(ascii: "\"") }
    }

    // MARK: Authentication

    mutating func secretMutation() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        guard let report = FuzzCorpus.decode(body, family: family) else { fatalError("a generated callback must decode") }
        let secret = corpus.secret
        let encoded = percentEncode(secret)
        // (query, Authorization header, expected status), built only when drawn.
        let variants: [() -> (String?, String?, Int)] = [
            { (nil, nil, 401) },
            { ("secret=wrong", nil, 401) },
            { ("secret=", nil, 401) },
            { ("secret", nil, 401) },
            { ("secret=\(encoded)x", nil, 401) },
            { ("secret=\(String(encoded.dropLast()))", nil, 401) },
            { ("secret=" + secret.utf8.map { "%" + String($0, radix: 16, uppercase: true) }.joined(), nil, 200) },
            { ("se%63ret=\(encoded)", nil, 200) },
            { ("secret=wrong&secret=\(encoded)", nil, 401) },
            { ("secret=\(encoded)&secret=wrong", nil, 200) },
            { (nil, "Bearer \(secret)", 200) },
            { (nil, "bearer \(secret)", 200) },
            { (nil, "Bearer  \(secret)", 401) },
            { (nil, "Basic \(secret)", 401) },
            { (nil, "Bearer", 401) },
            { (nil, "Bearer wrong", 401) },
            { ("secret=\(encoded)%00", nil, 401) },
            { ("secret=%zz", nil, 401) },
            { ("secret=\(encoded)%FF", nil, 401) },
            { ("secret=%FF%FE%00", nil, 401) },
            { ("SECRET=\(encoded)", nil, 401) },
            { ("secret=\(encoded)#fragment", nil, 401) },
            { ("&&secret=\(encoded)&&", nil, 200) },
            { ("secret=wrong", "Bearer \(secret)", 401) },
            { ("other=1", "Bearer \(secret)", 200) },
            { (String(repeating: "a=1&", count: 1_500) + "secret=\(encoded)", nil, 200) },
            { (nil, "Bearer " + String(repeating: "s", count: 60_000), 401) },
        ]
        let variant = random.pick(variants)()
        var headers: [Header] = [("Content-Type", Array("application/json".utf8))]
        if let authorization = variant.1 { headers.append(("Authorization", Array(authorization.utf8))) }
        headers += signatureHeaders(taskID: report.taskId)
        let target = path(family) + (variant.0.map { "?" + $0 } ?? "")
        let label = "auth.secret=" + String((variant.0 ?? "-").prefix(60)) + "|" + String((variant.1 ?? "-").prefix(30))
        return FuzzCase(
            index: 0, label: label, bytes: Self.request(target: target, headers: headers, body: body),
            expectation: .answer([variant.2]), taskID: report.taskId)
    }

    mutating func signatureMutation() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        guard let report = FuzzCorpus.decode(body, family: family) else { fatalError("a generated callback must decode") }
        let (now, taskID, key) = (now, report.taskId, corpus.hmacKey)
        let stamp = String(now)
        let good = Self.sign(taskID: taskID, timestamp: stamp, key: key)
        let ts: Header = ("X-Webhook-Timestamp", Array(stamp.utf8))
        func sig(_ value: String) -> Header { ("X-Webhook-Signature", Array(value.utf8)) }
        func signed(_ stamp: String) -> [Header] {
            [("X-Webhook-Timestamp", Array(stamp.utf8)), sig(Self.sign(taskID: taskID, timestamp: stamp, key: key))]
        }
        // (label, headers built only when drawn, expected statuses)
        let variants: [(String, () -> [Header], Set<Int>)] = [
            ("missing-both", { [] }, [401]),
            ("missing-signature", { [ts] }, [401]),
            ("missing-timestamp", { [sig(good)] }, [401]),
            ("empty", { [ts, sig("")] }, [401]),
            ("other-task", { [ts, sig(Self.sign(taskID: taskID + "x", timestamp: stamp, key: key))] }, [401]),
            ("other-key", { [ts, sig(Self.sign(taskID: taskID, timestamp: stamp, key: "not-the-key"))] }, [401]),
            ("unpadded", { [ts, sig(String(good.filter { $0 != "=" }))] }, [401]),
            ("lowercased", { [ts, sig(good.lowercased())] }, good.lowercased() == good ? [200] : [401]),
            ("garbage", { [ts, sig("!!!not base64!!!")] }, [401]),
            ("long", { [ts, sig(String(repeating: "A", count: 20_000))] }, [401]),
            ("unicode", { [ts, ("X-Webhook-Signature", Array("Ωmega≠\(good)".utf8))] }, [401]),
            ("twice-wrong-first", { [ts, sig("wrong"), sig(good)] }, [401]),
            ("twice-right-first", { [ts, sig(good), sig("wrong")] }, [200, 401]),
            ("lowercase-names", { [("x-webhook-timestamp", Array(stamp.utf8)), ("x-webhook-signature", Array(good.utf8))] }, [200]),
            ("stale", { signed(String(now - 400)) }, [401]),
            ("future", { signed(String(now + 400)) }, [401]),
            ("recent", { signed(String(now - 200)) }, [200]),
            ("soon", { signed(String(now + 200)) }, [200]),
            ("millis", { signed(String(now) + "000") }, [401]),
            ("signed-other-stamp", { [ts, sig(Self.sign(taskID: taskID, timestamp: String(now - 1), key: key))] }, [401]),
        ]
        let variant = random.pick(variants)
        let headers = [("Content-Type", Array("application/json".utf8))] + variant.1()
        return FuzzCase(
            index: 0, label: "auth.signature=\(variant.0)",
            bytes: Self.request(target: path(family) + "?" + secretQuery, headers: headers, body: body),
            expectation: .answer(variant.2), taskID: report.taskId)
    }

    /// An absurd `X-Webhook-Timestamp`, correctly signed: only the timestamp check decides.
    mutating func timestampMutation() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        guard let report = FuzzCorpus.decode(body, family: family) else { fatalError("a generated callback must decode") }
        // Spellings of "now" a strict reader may refuse and a lenient one accept.
        let lenient = ["+\(now)", "0\(now)", "000\(now)"]
        // Whitespace around the value is not part of it (the HTTP parser strips it).
        let padded = [" \(now) ", "\t\(now)", "\(now)  "]
        let stamp = random.chance(0.15) ? random.pick(lenient + padded) : random.pick(FuzzInputs.absurdHeaderNumbers)
        let value = String(stamp.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        let signature = Self.sign(taskID: report.taskId, timestamp: value, key: corpus.hmacKey)
        let headers: [Header] = [
            ("Content-Type", Array("application/json".utf8)), ("X-Webhook-Timestamp", Array(stamp.utf8)),
            ("X-Webhook-Signature", Array(signature.utf8)),
        ]
        let expected: Set<Int> = padded.contains(stamp) ? [200] : lenient.contains(stamp) ? [200, 401] : [401]
        return FuzzCase(
            index: 0, label: "header.timestamp=\(stamp.prefix(40))",
            bytes: Self.request(target: path(family) + "?" + secretQuery, headers: headers, body: body),
            expectation: .answer(expected), taskID: report.taskId)
    }

    // MARK: Headers that still frame one request

    mutating func headerVariant() -> FuzzCase {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        let report = FuzzCorpus.decode(body, family: family)
        let sign = signatureHeaders(taskID: report?.taskId ?? "none")
        let target = path(family) + "?" + secretQuery
        let ok: Set<Int> = report == nil ? [400] : [200]
        func make(_ label: String, _ bytes: [UInt8], _ statuses: Set<Int>? = nil) -> FuzzCase {
            let expected = statuses ?? ok
            return FuzzCase(
                index: 0, label: "header.\(label)", bytes: bytes, expectation: .answer(expected),
                taskID: expected.contains(200) ? report?.taskId : nil)
        }
        switch random.integer(in: 0...13) {
        case 0:
            return make("content-length=zeros", Self.request(target: target, headers: sign, body: body, contentLength: ["000\(body.count)"]))
        case 1:
            return make("content-length=spaces", Self.request(target: target, headers: sign, body: body, contentLength: ["  \(body.count)\t "]))
        case 2:
            return make("content-length=twice", Self.request(target: target, headers: sign, body: body, contentLength: ["\(body.count)", "\(body.count)"]))
        case 3:
            return make("content-length=list", Self.request(target: target, headers: sign, body: body, contentLength: ["\(body.count), \(body.count)"]))
        case 4:
            let chunked = chunk(body)
            let coding = random.pick(["chunked", "Chunked", " chunked ", "CHUNKED"])
            return make(
                "chunked=\(coding)",
                Self.request(target: target, headers: sign + [("Transfer-Encoding", Array(coding.utf8))], body: chunked, contentLength: []))
        case 5:
            return make(
                "http10-keep-alive",
                Self.request(target: target, version: "HTTP/1.0", headers: sign + [("Connection", Array("keep-alive".utf8))], body: body))
        case 6:
            return make("expect-continue", Self.request(target: target, headers: sign + [("Expect", Array("100-continue".utf8))], body: body))
        case 7:
            let type = random.pick(["text/plain", "application/json; charset=latin1", "", "multipart/form-data; boundary=x", "\u{00E9}"])
            return make("content-type=\(type)", Self.request(target: target, headers: sign + [("Content-Type", Array(type.utf8))], body: body))
        case 8:
            let many = (0..<random.integer(in: 10...90)).map { ("X-Fuzz-\($0)", Array(random.hex(count: 8).utf8)) }
            return make("many-headers", Self.request(target: target, headers: sign + many, body: body))
        case 9:
            return make(
                "long-value",
                Self.request(target: target, headers: sign + [("X-Long", Array(String(repeating: "v", count: 30_000).utf8))], body: body))
        case 10:
            let method = random.pick(["post", "PUT", "GET", "DELETE", "PATCH", "Post"])
            return make("method=\(method)", Self.request(method: method, target: target, headers: sign, body: body), [405])
        case 11:
            let odd = random.pick([
                "/webhooks/kie/", "/webhooks/KIE", "//webhooks/kie", "/webhooks/kie;x", "/webhooks/kie%2F", "/webhooks/",
                "/webhooks", "/webhooks/kiex", "/webhooks/../webhooks/kie", "http://127.0.0.1/webhooks/kie",
            ])
            return make("path=\(odd)", Self.request(target: odd + "?" + secretQuery, headers: sign, body: body), [404])
        case 12:
            // The other family's path: the body is read as that family's callback.
            let other: TaskFamily = family == .veo ? .market : .veo
            let otherReport = FuzzCorpus.decode(body, family: other)
            let bytes = Self.request(
                target: path(other) + "?" + secretQuery, headers: signatureHeaders(taskID: otherReport?.taskId ?? "none"), body: body)
            return FuzzCase(
                index: 0, label: "header.other-family", bytes: bytes, expectation: .answer(otherReport == nil ? [400] : [200]),
                taskID: otherReport?.taskId)
        default:
            let request = Self.request(target: target, headers: sign, body: body)
            return make("no-host", request.replacingFirst(Array("Host: 127.0.0.1\r\n".utf8), with: []))
        }
    }

    /// `body` in chunked framing: random chunk sizes (hex in either case), an extension now and
    /// then, optional trailers.
    mutating func chunk(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let size = min(body.count - offset, random.integer(in: 1...max(1, body.count / 2)))
            var line = String(size, radix: 16, uppercase: random.chance(0.5))
            if random.chance(0.2) { line += ";ext=\"v\"" }
            out += Array("\(line)\r\n".utf8) + body[offset..<(offset + size)] + Array("\r\n".utf8)
            offset += size
        }
        out += Array("0\r\n".utf8)
        if random.chance(0.3) { out += Array("X-Trailer: t\r\n".utf8) }
        out += Array("\r\n".utf8)
        return out
    }

    // MARK: Framing (alone on a connection)

    func refusal(_ label: String, _ bytes: [UInt8]) -> FuzzCase {
        FuzzCase(index: 0, label: label, bytes: bytes, expectation: .alone(first: nil), taskID: nil)
    }

    mutating func signedBody() -> (family: TaskFamily, body: [UInt8], headers: [Header], target: String) {
        let family: TaskFamily = random.chance(0.7) ? .market : .veo
        let body = callback(family: family, taskID: freshTaskID()).bytes
        let report = FuzzCorpus.decode(body, family: family)
        return (family, body, signatureHeaders(taskID: report?.taskId ?? "none"), path(family) + "?" + secretQuery)
    }

    mutating func contentLengthGarbage() -> FuzzCase {
        let (_, body, headers, target) = signedBody()
        switch random.integer(in: 0...5) {
        case 0:
            let value = random.pick(FuzzInputs.absurdHeaderNumbers.filter { $0 != String(body.count) })
            return refusal("framing.content-length=\(value.prefix(40))", Self.request(target: target, headers: headers, body: body, contentLength: [value]))
        case 1:
            let values = ["\(body.count)", "\(body.count + random.integer(in: 1...9))"].shuffled(using: &random)
            return refusal("framing.content-length=differing", Self.request(target: target, headers: headers, body: body, contentLength: values))
        case 2:
            let short = random.integer(in: 0...(body.count - 1))
            return refusal("framing.content-length=short", Self.request(target: target, headers: headers, body: body, contentLength: ["\(short)"]))
        case 3:
            let long = body.count + random.integer(in: 1...100_000)
            return refusal("framing.content-length=long", Self.request(target: target, headers: headers, body: body, contentLength: ["\(long)"]))
        case 4:
            let huge = random.pick(["16777217", "99999999999", "9223372036854775807", "9223372036854775808", "1" + String(repeating: "0", count: 60)])
            return refusal("framing.content-length=huge-\(huge.prefix(20))", Self.request(target: target, headers: headers, body: [], contentLength: [huge]))
        default:
            return refusal(
                "framing.content-length+transfer-encoding",
                Self.request(target: target, headers: headers + [("Transfer-Encoding", Array("chunked".utf8))], body: chunk(body)))
        }
    }

    mutating func chunkedGarbage() -> FuzzCase {
        let (_, body, headers, target) = signedBody()
        let te: Header = ("Transfer-Encoding", Array("chunked".utf8))
        let piece = Array(body.prefix(16))
        let sizes = [
            "FFFFFFFFFFFFFFFFFFFF", "7FFFFFFFFFFFFFFF", "8000000000000000", "1000001", "-1", "-10", "0x10", "+10", "",
            " 10", "g", "10;\u{1}", "1\u{0}", "\u{0661}",
        ]
        switch random.integer(in: 0...6) {
        case 0:
            let size = random.pick(sizes)
            let bytes = Array("\(size)\r\n".utf8) + piece + Array("\r\n0\r\n\r\n".utf8)
            return refusal("framing.chunked.size=\(size.debugDescription)", Self.request(target: target, headers: headers + [te], body: bytes, contentLength: []))
        case 1:
            // More data than the chunk says, then no CRLF where it must be.
            let bytes = Array("4\r\n".utf8) + piece + Array("\r\n0\r\n\r\n".utf8)
            return refusal("framing.chunked.overrun", Self.request(target: target, headers: headers + [te], body: bytes, contentLength: []))
        case 2:
            // Fewer bytes than announced, then the close.
            let bytes = Array("FFFF\r\n".utf8) + piece
            return refusal("framing.chunked.underrun", Self.request(target: target, headers: headers + [te], body: bytes, contentLength: []))
        case 3:
            let trailer = random.pick([" folded\r\n", "\tfolded\r\n", String(repeating: "T: x\r\n", count: 20_000)])
            let chunked = chunk(body)
            let bytes = Array(chunked.dropLast(2)) + Array(trailer.utf8) + Array("\r\n".utf8)
            return refusal("framing.chunked.trailer", Self.request(target: target, headers: headers + [te], body: bytes, contentLength: []))
        case 4:
            let coding = random.pick(["gzip, chunked", "chunked, chunked", "identity", "chunked, gzip", "chunk", "", ","])
            return refusal(
                "framing.chunked.coding=\(coding)",
                Self.request(target: target, headers: headers + [("Transfer-Encoding", Array(coding.utf8))], body: chunk(body), contentLength: []))
        case 5:
            return refusal(
                "framing.chunked.http10",
                Self.request(target: target, version: "HTTP/1.0", headers: headers + [te], body: chunk(body), contentLength: []))
        default:
            let bytes = Array("\(String(20_000_000, radix: 16))\r\n".utf8) + piece
            return refusal("framing.chunked.too-large", Self.request(target: target, headers: headers + [te], body: bytes, contentLength: []))
        }
    }

    mutating func requestLineGarbage() -> FuzzCase {
        let (_, body, headers, target) = signedBody()
        var rest = Array("Host: 127.0.0.1\r\n".utf8)
        for header in headers { rest += Array(header.name.utf8) + Array(": ".utf8) + header.value + Array("\r\n".utf8) }
        rest += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        let lines: [[UInt8]] = [
            Array("POST \(target) HTTP/2.0".utf8), Array("POST \(target)".utf8), Array("POST  \(target) HTTP/1.1".utf8),
            Array("PO(ST \(target) HTTP/1.1".utf8), Array("POST /webhooks/kie ?\(secretQuery) HTTP/1.1".utf8),
            Array("POST \(target)\u{7F} HTTP/1.1".utf8), Array("POST \(target)é HTTP/1.1".utf8),
            Array("POST webhooks/kie HTTP/1.1".utf8), Array("POST \(target) HTTP/1.1 extra".utf8),
            Array("POST \(target) http/1.1".utf8), Array("POST \(target) HTTP/1.10".utf8), Array("POST \(target) HTTP/1.x".utf8),
            Array("POST \(target) HTTP/0.9".utf8), Array("POST \(target) HTTP/3.0".utf8), [0x16, 0x03, 0x01, 0x02, 0x00, 0x01],
            Array("PRI * HTTP/2.0\r\n\r\nSM".utf8), Array("POST /\(String(repeating: "a", count: 9_000)) HTTP/1.1".utf8),
            Array("POST \(target) HTTP/1.1\u{0}".utf8), Array("\u{0}POST \(target) HTTP/1.1".utf8),
            Array(" POST \(target) HTTP/1.1".utf8), Array("POST\t\(target)\tHTTP/1.1".utf8),
            Array("POST \(target)\u{0}x HTTP/1.1".utf8), Array(String(repeating: "A", count: 9_000).utf8),
        ]
        let index = random.integer(in: 0...(lines.count - 1))
        return refusal("framing.request-line#\(index)", lines[index] + Array("\r\n".utf8) + rest)
    }

    mutating func headerSyntaxGarbage() -> FuzzCase {
        let (_, body, headers, target) = signedBody()
        let good = Self.request(target: target, headers: headers, body: body)
        switch random.integer(in: 0...11) {
        case 0:
            return refusal("framing.bare-lf", good.split(separator: 13, omittingEmptySubsequences: false).flatMap { $0 })
        case 1:
            var bytes = good
            let lfs = bytes.indices.filter { bytes[$0] == 10 }
            bytes[random.pick(lfs)] = 13  // a CR not followed by LF
            return refusal("framing.bare-cr", bytes)
        case 2:
            let bad = random.pick(["Content-Length : \(body.count)", " X-Folded: y", "\tX-Folded: y", "No Colon", ": empty-name", "X(y): 1",
                                   "X-Null: a\u{0}b", "X-Bell: \u{7}", "X-Del: \u{7F}", "Host: a\r\nHost: b", "Expect: 200-ok",
                                   "X\u{0}: 1", "X-Bad-CR: a\rb"])
            return refusal("framing.header=\(bad.debugDescription)", Self.request(target: target, headers: headers + [("X-Pad", [UInt8]())], body: body)
                .replacingFirst(Array("X-Pad: \r\n".utf8), with: Array(bad.utf8) + Array("\r\n".utf8)))
        case 3:
            let invalid = random.pick(FuzzInputs.invalidUTF8)
            return refusal("framing.header-utf8", Self.request(target: target, headers: headers + [("X-Bytes", Array("a".utf8) + invalid)], body: body))
        case 4:
            let many = (0..<random.integer(in: 101...400)).map { ("X-H\($0)", Array("v".utf8)) }
            return refusal("framing.header-count", Self.request(target: target, headers: headers + many, body: body))
        case 5:
            return refusal(
                "framing.header-bytes",
                Self.request(target: target, headers: headers + [("X-Big", Array(repeating: UInt8(ascii: "b"), count: random.integer(in: 82_000...200_000)))], body: body))
        case 6:
            return refusal("framing.blank-lines", Array(repeating: "\r\n", count: random.integer(in: 41_000...60_000)).joined().utf8.map { $0 } + good)
        case 7:
            return refusal("framing.crcrlf", good.replacingFirst(Array("\r\n".utf8), with: Array("\r\r\n".utf8)))
        case 8:
            return refusal("framing.lflf", good.replacingFirst(Array("\r\n\r\n".utf8), with: Array("\n\n".utf8)))
        case 9:
            return refusal("framing.nul-head", good.replacingFirst(Array("Host".utf8), with: [0] + Array("ost".utf8)))
        case 10:
            let expectation = random.pick(["200-ok", "100-continue-please", "foo"])
            return refusal(
                "framing.expect=\(expectation)",
                Self.request(target: target, headers: headers + [("Expect", Array(expectation.utf8))], body: body))
        default:
            let value = random.pick(FuzzInputs.invalidUTF8)
            return refusal("framing.header-name-bytes", Self.request(target: target, headers: headers + [(String(decoding: value, as: UTF8.self), Array("v".utf8))], body: body))
        }
    }

    mutating func pipelinedGarbage() -> FuzzCase {
        let (family, body, headers, target) = signedBody()
        let report = FuzzCorpus.decode(body, family: family)
        let garbage = random.pick([Array("GARBAGE\r\n\r\n".utf8), [0, 0, 0, 0], Array("POST / HTTP/1.1\n\n".utf8), Array(repeating: 0xFF, count: 64)])
        return FuzzCase(
            index: 0, label: "framing.pipelined-garbage", bytes: Self.request(target: target, headers: headers, body: body) + garbage,
            expectation: .alone(first: report == nil ? [400] : [200]), taskID: report?.taskId)
    }

    mutating func earlyClose() -> FuzzCase {
        let (_, body, headers, target) = signedBody()
        let good = Self.request(target: target, headers: headers, body: body)
        let cut = random.integer(in: 1...(good.count - 1))
        return refusal("framing.early-close", Array(good.prefix(cut)))
    }

    mutating func randomBytes() -> FuzzCase {
        let count = random.integer(in: 1...4_000)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
        if random.chance(0.5) { bytes += Array("\r\n\r\n".utf8) }
        return refusal("framing.random", bytes)
    }

    mutating func closingDelivery() -> FuzzCase {
        let (family, body, headers, target) = signedBody()
        let report = FuzzCorpus.decode(body, family: family)
        let statuses: Set<Int> = report == nil ? [400] : [200]
        let bytes =
            random.chance(0.5)
            ? Self.request(target: target, headers: headers + [("Connection", Array("close".utf8))], body: body)
            : Self.request(target: target, version: "HTTP/1.0", headers: headers, body: body)
        return FuzzCase(index: 0, label: "valid.closing", bytes: bytes, expectation: .alone(first: statuses), taskID: report?.taskId)
    }

    // MARK: Proxy and routes

    mutating func proxyCall() -> FuzzCase {
        let auth: [Header] = [("Authorization", Array("Bearer \(corpus.apiKey)".utf8))]
        let statuses = Set(200..<500)
        if random.chance(0.2) {
            var body = RawObject([("model", CallbackDraft.quoted(random.pick(FuzzCorpus.marketModels))),
                                  ("input", "{\"prompt\":\"fuzz\",\"duration\":\(random.pick(FuzzInputs.absurdJSONNumbers))}")])
            if random.chance(0.5) { body.set("callBackUrl", random.pick(["123", "null", "\"\"", "\"not a url\"", "[]", "\"http://127.0.0.1:1/x\""])) }
            if random.chance(0.3) { body.set("model", random.pick(FuzzInputs.absurdJSONNumbers)) }
            if random.chance(0.2) {
                // Deep but legal (the agent parses the body to rewrite callBackUrl), or past the limit.
                let depth = random.pick([100, 250, 253, 300, 10_000])
                body.set("extra", String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
            }
            let bytes = Self.request(target: "/api/v1/jobs/createTask", headers: auth + [("Content-Type", Array("application/json".utf8))], body: Array(body.text.utf8))
            return FuzzCase(index: 0, label: "proxy.create", bytes: bytes, expectation: .answer(statuses), taskID: nil)
        }
        let known = corpus.knownTasks.isEmpty ? "none" : random.pick(corpus.knownTasks).id
        let values = [
            "9223372036854775808", "-1", "1e400", "NaN", "%00", "%FF%FE", "%zz", "", "a&taskId=b", "../../etc/passwd",
            String(repeating: "9", count: 7_000), "%E2%80%AE", "%C0%AF", known, "\(known)%00", "+", "%2B%2F",
        ]
        let value = random.pick(values)
        if random.chance(0.2) {
            // Odd paths and methods, all under /api/ but never /api/file-* (that upstream is not on loopback).
            let path = random.pick([
                "/api/v1/chat/credit", "/api/", "/api//v1/jobs/recordInfo?taskId=x", "/api/%2e%2e/metrics",
                "/api/v1/jobs/recordInfo?taskId=x#fragment", "/api/v1/jobs/recordInfo/../recordInfo?taskId=x",
                "/api/v1/veo/record-info?taskId=\(value)", "/api/v1/unknown/endpoint?a=1",
            ])
            let method = random.pick(["GET", "HEAD", "DELETE", "PUT", "OPTIONS"])
            let bytes = Self.request(method: method, target: path, headers: auth, body: [], contentLength: method == "PUT" ? nil : [])
            return FuzzCase(index: 0, label: "proxy.path=\(method) \(path.prefix(40))", bytes: bytes, expectation: .answer(statuses), taskID: nil)
        }
        let path = random.pick(["/api/v1/jobs/recordInfo", "/api/v1/veo/record-info"])
        let query = random.chance(0.9) ? "?taskId=\(value)" : "?\(value)"
        let bytes = Self.request(method: "GET", target: path + query, headers: auth, body: [], contentLength: [])
        return FuzzCase(index: 0, label: "proxy.query=\(value.prefix(30))", bytes: bytes, expectation: .answer(statuses), taskID: nil)
    }

    func route(path: String, status: Int, method: String = "GET") -> FuzzCase {
        FuzzCase(
            index: 0, label: "routes.\(method) \(path)",
            bytes: Self.request(method: method, target: path, headers: [], body: [], contentLength: []),
            expectation: .answer([status]), taskID: nil)
    }

    mutating func routeCall() -> FuzzCase {
        switch random.integer(in: 0...9) {
        case 0, 1: return route(path: "/healthz", status: 200)
        case 2: return route(path: "/healthz", status: 200, method: "HEAD")
        case 3: return route(path: "/readyz", status: 200)
        case 4: return route(path: "/metrics", status: 200, method: random.chance(0.5) ? "GET" : "HEAD")
        case 5: return route(path: "/webhooks/kie", status: 405)
        case 6: return route(path: "/metrics", status: 405, method: "POST")
        case 7: return route(path: "/" + random.hex(count: 12), status: 404)
        case 8: return route(path: "/healthz?\(String(repeating: "%", count: 100))", status: 200)
        default: return route(path: "/nope%00%FF", status: 404)
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes with the first occurrence of `needle` replaced (unchanged when absent).
    func replacingFirst(_ needle: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !needle.isEmpty, count >= needle.count else { return self }
        for start in 0...(count - needle.count) where self[start..<(start + needle.count)].elementsEqual(needle) {
            return Array(self[..<start]) + replacement + self[(start + needle.count)...]
        }
        return self
    }
}
