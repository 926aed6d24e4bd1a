import KieWatchCore
import KieWatchSimulator
import KieWatchTestSupport
import Testing

/// Seeded fuzzing of KieWatchCore's parsers, in process: `JSONValue.parse`, `KieEnvelope` and
/// the `KieWire` decoders, `DurationText`. No input may trap; what a parser reads survives a
/// round trip, and what it refuses it refuses with its own error. A failure names the seed and the input's index (`KIEWATCH_FUZZ_SEED`
/// reproduces a run; `KIEWATCH_FUZZ_COUNT` scales it).
@Suite struct CoreParserFuzzTests {
    static let seed: UInt64 = 0x5EED_0018

    /// JSON texts to mutate: the payload shapes Kie sends, and values of every kind.
    static let documents: [String] = [
        #"{"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"t1","model":"kling-2.6/text-to-video","state":"success","param":"{\"model\":\"kling-2.6/text-to-video\",\"input\":{\"prompt\":\"a\"}}","resultJson":"{\"resultUrls\":[\"https://cdn.example/v.mp4\"]}","failCode":"","failMsg":"","costTime":8,"completeTime":1755000000000,"createTime":1754999990000,"creditsConsumed":12.5}}"#,
        #"{"code":501,"msg":"Playground task failed.","data":{"taskId":"t2","state":"fail","failCode":"500","failMsg":"internal","consumeCredits":0,"remainedCredits":9000}}"#,
        #"{"code":200,"msg":"Veo3 video generated successfully.","data":{"taskId":"v1","info":{"resultUrls":["https://cdn.example/a.mp4"],"originUrls":[],"resolution":"1080p"},"fallbackFlag":false}}"#,
        #"{"code":200,"msg":"success","data":{"taskId":"v2","paramJson":"{\"model\":\"veo3_fast\"}","completeTime":"2026-06-01 10:00:00","createTime":1755000000000,"response":{"resultUrls":"[\"https://x/y.mp4\"]"},"successFlag":1,"errorCode":null,"errorMessage":""}}"#,
        #"{"code":200,"msg":"success","data":{"taskId":"m1","model":"sora-2-text-to-video","state":"generating","progress":45,"resultJson":null}}"#,
        #"{"code":422,"msg":"recordInfo is null","data":null}"#,
        #"{"code":200,"msg":"success","data":1234.5}"#,
        #"[1,-2.5e3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00",{"a":{"b":[[],{}]}},0.1,-0,1E+2]"#,
        #""just a string""#, "  42  ", "null", #"{"":{"":[""]}}"#,
    ]

    static func settings(_ count: Int) -> FuzzSettings { .fromEnvironment(seed: seed, count: count) }

    // MARK: JSON

    /// One input for the JSON parser, with a label naming how it was made.
    static func jsonInput(_ random: inout SeededRandom) -> (label: String, bytes: [UInt8]) {
        let document = Array(random.pick(documents).utf8)
        switch random.integer(in: 0...9) {
        case 0, 1, 2:
            var bytes = document
            for _ in 0..<random.integer(in: 1...4) { bytes = FuzzInputs.mutate(bytes, using: &random) }
            return ("mutated", bytes)
        case 3, 4:
            return ("generated", Array(generatedJSON(&random, depth: 0).utf8))
        case 5:
            // `[`×d`]`×d has its deepest value at depth d - 1; `{"k":`×d`1}`×d has `1` at depth d.
            let depth = random.pick([1, 2, 100, 254, 255, 256, 257, 258, 1_000, 100_000])
            if random.chance(0.5) {
                return ("nesting=\(depth - 1)", Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8))
            }
            return ("nesting=\(depth)", Array((String(repeating: "{\"k\":", count: depth) + "1" + String(repeating: "}", count: depth)).utf8))
        case 6:
            return ("unbalanced", Array(repeating: random.chance(0.5) ? UInt8(ascii: "[") : UInt8(ascii: "{"), count: random.integer(in: 1...100_000)))
        case 7:
            let escape = random.pick(FuzzInputs.awkwardEscapes)
            var bytes = document
            if let inside = stringInteriors(bytes).randomElement(using: &random) {
                bytes.insert(contentsOf: Array(escape.utf8), at: inside)
            }
            return ("escape=\(escape)", bytes)
        case 8:
            let number = random.pick(FuzzInputs.absurdJSONNumbers)
            return ("number=\(number)", Array("{\"n\":\(number),\"a\":[\(number)]}".utf8))
        default:
            let alphabet = Array("{}[]\":,0123456789.eE+-tfnrulase\\ \n\t".utf8) + [0, 0x80, 0xC3, 0xFF]
            return ("alphabet", (0..<random.integer(in: 0...64)).map { _ in random.pick(alphabet) })
        }
    }

    /// A random JSON text whose leaves are drawn from the absurd numbers (some of them not JSON).
    static func generatedJSON(_ random: inout SeededRandom, depth: Int) -> String {
        switch depth > 5 ? 2 : random.integer(in: 0...4) {
        case 0:
            let members = (0..<random.integer(in: 0...4)).map { "\"k\($0)\":" + generatedJSON(&random, depth: depth + 1) }
            return "{" + members.joined(separator: ",") + "}"
        case 1:
            return "[" + (0..<random.integer(in: 0...4)).map { _ in generatedJSON(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        case 2:
            return random.pick(FuzzInputs.absurdJSONNumbers)
        case 3:
            return JSONValue.string(random.pick(["", "é", "🎬", "\u{0}", "a\"b", "\\", "\u{202E}", "\u{FEFF}"])).serialized()
        default:
            return random.pick(["true", "false", "null"])
        }
    }

    /// Offsets inside string literals where inserted bytes stay inside the string (not within
    /// an escape such as `\n` or `\u00e9`).
    static func stringInteriors(_ bytes: [UInt8]) -> [Int] {
        var inside = false
        var escaped = false
        var hexDigitsLeft = 0
        var offsets: [Int] = []
        for (offset, byte) in bytes.enumerated() {
            if inside {
                if hexDigitsLeft > 0 {
                    hexDigitsLeft -= 1
                } else if escaped {
                    escaped = false
                    if byte == UInt8(ascii: "u") { hexDigitsLeft = 4 }
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inside = false
                } else {
                    offsets.append(offset)
                }
            } else if byte == UInt8(ascii: "\"") {
                inside = true
                offsets.append(offset + 1)
            }
        }
        return offsets
    }

    @Test func jsonParseReadsOrRefusesEveryInputAndRoundTripsWhatItReads() {
        let settings = Self.settings(50_000)
        var read = 0
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            let (label, bytes) = Self.jsonInput(&random)
            if settings.excludes(label) { continue }
            let context = { "seed \(settings.seed) input #\(index) [\(label)] \(FuzzInputs.describe(bytes, limit: 300))" }
            do {
                let value = try JSONValue.parse(bytes)
                read += 1
                if value.isFinite, (try? JSONValue.parse(value.serializedBytes())) != value {
                    Issue.record("\(context()): does not survive serializing")
                }
            } catch {
                if !(0...bytes.count).contains(error.offset) { Issue.record("\(context()): error offset \(error.offset) out of range") }
                if label.hasPrefix("nesting="), let depth = Int(label.dropFirst("nesting=".count)), depth < JSONValue.maxDepth {
                    Issue.record("\(context()): nesting of \(depth) refused: \(error)")
                }
            }
        }
        #expect(read > settings.count / 20, "too few inputs were JSON (\(read)): the mix is broken")
        #expect(read < settings.count, "every input was JSON: the mix is broken")
    }

    @Test func nestingIsReadUpToTheLimitAndRefusedPastIt() throws {
        for depth in [JSONValue.maxDepth - 1, JSONValue.maxDepth] {
            let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            #expect(throws: Never.self) { try JSONValue.parse(text) }
        }
        for depth in [JSONValue.maxDepth + 1, 100_000] {
            let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
            do { _ = try JSONValue.parse(text) } catch { #expect(error.message.hasPrefix("nesting deeper than")) }
        }
    }

    @Test func invalidUTF8InsideAStringIsRefusedAsSuch() {
        let settings = Self.settings(20_000)
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            var bytes = Array(random.pick(Self.documents).utf8)
            guard let inside = Self.stringInteriors(bytes).randomElement(using: &random) else { continue }
            let bad = random.pick(FuzzInputs.invalidUTF8)
            bytes.insert(contentsOf: bad, at: inside)
            do {
                _ = try JSONValue.parse(bytes)
                Issue.record("seed \(settings.seed) input #\(index): invalid UTF-8 read as JSON: \(FuzzInputs.describe(bytes))")
            } catch where error.message != "invalid UTF-8 in a string" {
                Issue.record("seed \(settings.seed) input #\(index): \(error) \(FuzzInputs.describe(bytes))")
            } catch {}
        }
    }

    // MARK: Kie payloads

    static let numericFields = [
        "code", "completeTime", "createTime", "updateTime", "costTime", "creditsConsumed", "consumeCredits",
        "remainedCredits", "progress", "successFlag", "failCode", "taskId", "state", "data", "info", "response",
        "resultJson", "resultUrls", "paramJson", "param", "model", "msg",
        // Other families' members.
        "task_id", "status", "callbackType", "generateTime", "errorCode", "errorMessage", "failMsg", "error",
        "videoInfo", "videoUrl", "video_url", "result_video_url", "resultVideoUrl", "resultImageUrl", "result_urls",
        "resultInfoJson", "resultUrl", "sunoData", "audioUrl", "audio_url", "index",
    ]

    /// A payload with one member (anywhere in it) replaced by an absurd value, or mutated bytes.
    static func payloadInput(_ random: inout SeededRandom) -> (label: String, bytes: [UInt8]) {
        payloadInput(&random, document: random.pick(Array(documents.prefix(7))))
    }

    static func payloadInput(_ random: inout SeededRandom, document: String) -> (label: String, bytes: [UInt8]) {
        if random.chance(0.3) {
            var bytes = Array(document.utf8)
            for _ in 0..<random.integer(in: 1...3) { bytes = FuzzInputs.mutate(bytes, using: &random) }
            return ("mutated", bytes)
        }
        let field = random.pick(numericFields)
        let value = random.chance(0.8) ? random.pick(FuzzInputs.absurdJSONNumbers) : generatedJSON(&random, depth: 3)
        guard let range = document.range(of: "\"\(field)\":") else {
            return ("added \(field)=\(value)", Array(document.replacingOccurrences(of: "\"data\":{", with: "\"data\":{\"\(field)\":\(value),").utf8))
        }
        // Replace the value after the key, up to the next ',' or '}' at the same level (a shallow cut is enough here).
        var end = range.upperBound
        var level = 0
        var inString = false
        while end < document.endIndex {
            let c = document[end]
            if c == "\"" && document[document.index(before: end)] != "\\" { inString.toggle() }
            if !inString {
                if c == "{" || c == "[" { level += 1 }
                if c == "}" || c == "]" { if level == 0 { break }; level -= 1 }
                if c == "," && level == 0 { break }
            }
            end = document.index(after: end)
        }
        return ("\(field)=\(value)", Array((document[..<range.upperBound] + value + document[end...]).utf8))
    }

    @Test func kieDecodersNeverTrapAndKeepTheirInvariants() {
        let settings = Self.settings(50_000)
        var decoded = 0
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            let (label, bytes) = Self.payloadInput(&random)
            if settings.excludes(label) { continue }
            let context = { "seed \(settings.seed) input #\(index) [\(label)] \(FuzzInputs.describe(bytes, limit: 300))" }
            guard let envelope = KieEnvelope(body: bytes) else { continue }
            _ = KieWire.createdTaskId(envelope)
            _ = KieWire.creditBalance(envelope)
            _ = KieWire.isUnknownTask(envelope)
            // Market and Veo (these documents' own), and two more families of the table.
            for family in [TaskFamily.market, .veo, random.pick(TaskFamily.all), random.pick(TaskFamily.all)] {
                _ = KieWire.createRequest(envelope.data, family: family)
                if let report = KieWire.statusAnswer(envelope, httpStatus: 200, family: family, taskId: "t").report {
                    Self.checkRanges(report, family: family, context)
                }
                for member in envelope.data.objectValue ?? [] { _ = KieWire.timestamp(member.value) }
                let callback = Result { () throws(KieDecodingError) in try KieWire.callback(envelope, family: family) }
                let record = Result { () throws(KieDecodingError) in try KieWire.record(envelope.data, family: family) }
                for case .success(let report) in [callback, record] {
                    decoded += 1
                    if (report.createdAt ?? 1) <= 0 || (report.completedAt ?? 1) <= 0 { Issue.record("\(context()): a time at or before 1970") }
                    Self.checkRanges(report, family: family, context)
                }
            }
        }
        #expect(decoded > settings.count / 10, "too few payloads decoded (\(decoded)): the mix is broken")
    }

    /// What every report a decoder returns keeps to, whatever it was read from: the ranges
    /// `TaskReport` documents, and fields only where their meaning allows them.
    static func checkRanges(_ report: TaskReport, family: TaskFamily, _ context: () -> String) {
        if report.taskId.isEmpty { Issue.record("\(context()): \(family): a report without a task id") }
        if report.family != family { Issue.record("\(context()): read as \(family), reported as \(report.family)") }
        for time in [report.createdAt, report.completedAt].compactMap({ $0 }) where !TaskReport.plausibleTimes.contains(time) {
            Issue.record("\(context()): \(family): time \(time) outside the plausible window")
        }
        if let credits = report.creditsConsumed, !TaskReport.plausibleCreditsConsumed.contains(credits) {
            Issue.record("\(context()): \(family): credits consumed \(credits)")
        }
        if let balance = report.creditsRemaining, !TaskReport.plausibleCreditBalance.contains(balance) {
            Issue.record("\(context()): \(family): credit balance \(balance)")
        }
        if let progress = report.progress, !(0...100).contains(progress) {
            Issue.record("\(context()): \(family): progress \(progress)")
        }
        if let kind = report.callbackKind {
            var kinds = family.callbacks.kinds
            if case .kinds(_, _, _, let failure) = family.callbacks { kinds.append(failure) }
            if !kinds.contains(kind) { Issue.record("\(context()): \(family): callback kind '\(kind)'") }
        }
        if report.callbackFailed, report.state != .success { Issue.record("\(context()): \(family): callback failed while \(report.state)") }
        if report.failCode != nil || report.failMessage != nil, report.state != .fail {
            Issue.record("\(context()): \(family): a failure on a \(report.state) task")
        }
        if report.failCode?.isEmpty == true || report.failMessage?.isEmpty == true || report.resultURLs.contains("") {
            Issue.record("\(context()): \(family): an empty field read as a value")
        }
    }

    /// Every sample in `Tests/Fixtures/kie`, compact, with the family it belongs to.
    static let samples: [(family: TaskFamily, text: String)] = {
        let prefixes: [(String, TaskFamily)] = [
            ("veo-extend", .veoExtend), ("veo-4k", .veo4K), ("veo", .veo), ("runway", .runway), ("aleph", .aleph),
            ("luma", .luma), ("suno", .suno), ("gpt4o-image", .gpt4oImage), ("flux-kontext", .fluxKontext), ("mj", .midjourney),
        ]
        return ((try? Fixtures.allKieNames()) ?? []).compactMap { name in
            guard let json = try? Fixtures.kieJSON(name) else { return nil }
            let bare = name.hasPrefix("callback-") ? String(name.dropFirst("callback-".count)) : name
            let family = prefixes.first(where: { bare.hasPrefix($0.0 + "-") })?.1 ?? .market
            return (family, json.serialized())
        }
    }()

    /// Every family's samples, whole, mutated, or with one member replaced by an absurd value:
    /// read by every reader (status answer, record, callback from the envelope and from the
    /// body) as their own family and two others, they never trap, keep `TaskReport`'s ranges,
    /// and what they read is written back (`statusData`, `callbackBody`) without trapping and,
    /// for a status record, read again in the same state.
    @Test func everyFamilysSamplesNeverTrapAndKeepTheirRanges() {
        let settings = Self.settings(12_000)
        let samples = Self.samples
        #expect(samples.count >= 60, "the samples did not load")
        guard !samples.isEmpty else { return }
        var decoded = 0
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            let sample = random.pick(samples)
            let (label, bytes) = random.chance(0.1) ? ("whole", Array(sample.text.utf8)) : Self.payloadInput(&random, document: sample.text)
            if settings.excludes(label) { continue }
            let context = { "seed \(settings.seed) input #\(index) [\(sample.family) \(label)] \(FuzzInputs.describe(bytes, limit: 400))" }
            guard let body = try? JSONValue.parse(bytes), let envelope = KieEnvelope(json: body) else { continue }
            for family in [sample.family, random.pick(TaskFamily.all), random.pick(TaskFamily.all)] {
                let taskId = random.chance(0.5) ? "route-id" : nil
                if let report = KieWire.statusAnswer(envelope, httpStatus: 200, family: family, taskId: taskId ?? "t").report {
                    Self.checkRanges(report, family: family, context)
                }
                if let report = try? KieWire.record(envelope.data, family: family, taskId: taskId) {
                    decoded += 1
                    Self.checkRanges(report, family: family, context)
                    let written = KieWire.statusData(for: report, family: family)
                    let again = try? KieWire.record(try JSONValue.parse(written.serializedBytes()), family: family)
                    if again?.state != report.state {
                        Issue.record("\(context()): \(family) \(report.state) written as \(written.serialized()), read as \(String(describing: again?.state))")
                    }
                    _ = KieWire.callbackBody(for: report, family: family, statusData: written).serializedBytes()
                }
                for result in [
                    Result { () throws(KieDecodingError) in try KieWire.callback(envelope, family: family, taskId: taskId) },
                    Result { () throws(KieDecodingError) in try KieWire.callback(body: body, family: family, taskId: taskId) },
                ] {
                    guard case .success(let report) = result else { continue }
                    decoded += 1
                    Self.checkRanges(report, family: family, context)
                    _ = KieWire.callbackBody(for: report, family: family, statusData: envelope.data).serializedBytes()
                }
            }
        }
        #expect(decoded > settings.count, "too few payloads decoded (\(decoded)): the mix is broken")
    }

    // MARK: Create bodies: the callBackUrl splice

    static let createBodies: [String] = [
        #"{"model":"kling-2.6/text-to-video","callBackUrl":"https://app.example/cb?secret=a%20b","input":{"prompt":"x","callBackUrl":"nested"}}"#,
        #"{"callBackUrl":"https://a/1","callBackUrl":"https://a/2","n":12345678901234567890,"f":-0.0,"e":10E2}"#,
        #" {"prompt":"a \"quoted\" \\ prompt \u00e9\ud83c\udfac","callBack\u0055rl":"https://escaped-key/","list":[{"callBackUrl":"in array"}]} "#,
        #"{"model":"veo3","callBackUrl":"","aspect_ratio":"16:9","callBackUrl":"https://second/"}"#,
        #"{"callBackUrl":null,"other":{"deep":[[[{"callBackUrl":"no"}]]]}}"#,
        #"{}"#, #"[{"callBackUrl":"top-level array"}]"#,
    ]

    /// The top-level `callBackUrl` string members as the parser sees them.
    static func callBackURLs(_ value: JSONValue) -> [String] {
        (value.objectValue ?? []).compactMap { member in
            guard member.key == "callBackUrl", case .string(let url) = member.value else { return nil }
            return url
        }
    }

    @Test func theCallBackURLSpliceAgreesWithTheParserAndChangesNothingElse() {
        let settings = Self.settings(20_000)
        let url = "https://agent.example/webhooks/kie?secret=s\"e\\c\u{1}"
        // What the parser may refuse that the splice reads on purpose: string contents, and depth.
        let contentErrors = ["invalid UTF-8 in a string", "unpaired surrogate", "invalid unicode escape"]
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            var bytes = Array(random.pick(Self.createBodies).utf8)
            switch random.integer(in: 0...3) {
            case 0: break
            case 1:
                for _ in 0..<random.integer(in: 1...3) { bytes = FuzzInputs.mutate(bytes, using: &random) }
            case 2:
                let depth = random.pick([10, 255, 256, 300, 5_000])
                bytes = Array(#"{"callBackUrl":"u","d":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth)
                    + Array(repeating: UInt8(ascii: "]"), count: depth) + Array("}".utf8)
            default:
                if let inside = Self.stringInteriors(bytes).randomElement(using: &random) {
                    bytes.insert(contentsOf: random.pick(FuzzInputs.invalidUTF8 + FuzzInputs.awkwardEscapes.map { Array($0.utf8) }), at: inside)
                }
            }
            let context = { "seed \(settings.seed) input #\(index) \(FuzzInputs.describe(bytes, limit: 400))" }
            let members = JSONMemberSplice.stringMembers(named: "callBackUrl", in: bytes)
            let parsed = Result { () throws(JSONParseError) in try JSONValue.parse(bytes) }
            switch (parsed, members) {
            case (.success(let value), let members?):
                guard case .object(var expected) = value else {
                    Issue.record("\(context()): the splice read a document that is not an object")
                    continue
                }
                if members.map(\.value) != Self.callBackURLs(value) {
                    Issue.record("\(context()): splice \(members.map(\.value)) vs parser \(Self.callBackURLs(value))")
                }
                let replaced = JSONMemberSplice.replacing(members, in: bytes, with: url)
                guard let after = try? JSONValue.parse(replaced) else {
                    Issue.record("\(context()): the spliced body is no longer JSON: \(FuzzInputs.describe(replaced, limit: 400))")
                    continue
                }
                for i in expected.indices where expected[i].key == "callBackUrl" {
                    if case .string = expected[i].value { expected[i].value = .string(url) }
                }
                if after != .object(expected) { Issue.record("\(context()): the splice changed more than the callback URL") }
            case (.success(let value), nil):
                if value.objectValue != nil { Issue.record("\(context()): an object the parser reads, the splice refuses") }
            case (.failure(let error), _?):
                if !contentErrors.contains(error.message) && !error.message.hasPrefix("nesting deeper") {
                    Issue.record("\(context()): the splice reads what the parser refuses for \"\(error.message)\"")
                }
            case (.failure, nil):
                break
            }
        }
    }

    // MARK: Durations

    static func durationInput(_ random: inout SeededRandom) -> (label: String, text: String) {
        let units = ["ms", "s", "m", "h", "d", "MS", "S", "D", "y", "µs", "", " s", "sec", "m5"]
        let numbers = ["0", "1", "1.5", "0.0001", ".5", "5.", "1.2.3", "-1", "+1", "\u{0661}", "1e3", "99999999999999999999",
                       "8999999999999999", "104166666666", String(repeating: "9", count: 400), "NaN", "inf"]
        if random.chance(0.01) {
            // Many parts, each allowed, adding up past Int64.max (1,025 of the first are enough).
            let part = random.pick(["8999999999999999ms", "104166666666d", "2500000000000h"])
            return ("many-parts=\(part)", String(repeating: part, count: random.integer(in: 1_030...1_500)))
        }
        var text = random.chance(0.1) ? " " : ""
        var large = false
        for _ in 0..<random.integer(in: 1...4) {
            let number = random.pick(numbers)
            large = large || number.count >= 12
            text += number + random.pick(units)
        }
        if random.chance(0.1) { text += random.pick([" ", "\t", "x", "\u{0}", "🎬"]) }
        return (large ? "parts.large" : "parts", text)
    }

    @Test func durationTextNeverTrapsAndRoundTripsWhatItReads() {
        let settings = Self.settings(50_000)
        var read = 0
        for index in 0..<settings.count {
            var random = settings.random(for: index)
            let (label, text) = Self.durationInput(&random)
            if settings.excludes(label) { continue }
            guard let millis = DurationText.parseMillis(text) else { continue }
            read += 1
            let context = "seed \(settings.seed) input #\(index) [\(label)] \(text.debugDescription.prefix(200))"
            if millis < 0 { Issue.record("\(context): negative duration \(millis)") }
            if DurationText.parseMillis(DurationText.format(millis: millis)) != millis {
                Issue.record("\(context): \(millis) does not survive formatting")
            }
        }
        #expect(read > settings.count / 20, "too few durations read (\(read)): the mix is broken")
    }
}

extension JSONValue {
    /// No infinity anywhere in it (JSON has none: serializing writes `null`).
    fileprivate var isFinite: Bool {
        switch self {
        case .double(let d): d.isFinite
        case .array(let items): items.allSatisfy(\.isFinite)
        case .object(let members): members.allSatisfy { $0.value.isFinite }
        default: true
        }
    }
}
