import KieWatchCore
import Testing

/// `FieldPath`: the family table's spelling of where a value sits, read tolerantly and written
/// exactly.
@Suite struct FieldPathTests {
    @Test func parsesStepsWithTheirMarks() {
        let path = FieldPath("resultJson$.resultUrls[].resultUrl")
        #expect(path.steps.map(\.key) == ["resultJson", "resultUrls", "resultUrl"])
        #expect(path.steps.map(\.embedded) == [true, false, false])
        #expect(path.steps.map(\.each) == [false, true, false])
        #expect(path.description == "resultJson$.resultUrls[].resultUrl")
        #expect(FieldPath("taskId").key == "taskId")
        #expect(FieldPath("a..b").steps.map(\.key) == ["a", "b"])
    }

    @Test func readsNestedMembersAndSkipsNulls() {
        let data: JSONValue = ["info": ["resultUrls": ["a", "b"], "none": nil], "taskId": "t"]
        #expect(FieldPath("info.resultUrls").value(in: data) == ["a", "b"])
        #expect(FieldPath("taskId").value(in: data) == "t")
        #expect(FieldPath("info.none").value(in: data) == nil)
        #expect(FieldPath("info.missing.deeper").value(in: data) == nil)
        #expect(FieldPath("taskId.deeper").value(in: data) == nil)
        #expect(FieldPath("x").value(in: .array(["x"])) == nil)
    }

    /// Any member may come as JSON text (Kie's `resultJson`, `paramJson`), whatever the path says.
    @Test func readsEmbeddedJSONWithOrWithoutTheMark() {
        let embedded: JSONValue = ["resultJson": #"{"resultUrls":["u"]}"#]
        let plain: JSONValue = ["resultJson": ["resultUrls": ["u"]]]
        for data in [embedded, plain] {
            #expect(FieldPath("resultJson$.resultUrls").value(in: data) == ["u"])
            #expect(FieldPath("resultJson.resultUrls").value(in: data) == ["u"])
        }
        // A string that only looks like JSON stays a string.
        #expect(FieldPath("a").value(in: ["a": "{not json"]) == "{not json")
    }

    @Test func eachStepReadsEveryElementAndALoneObject() {
        let data: JSONValue = [
            "resultInfoJson": ["resultUrls": [["resultUrl": "a"], nil, ["other": 1], ["resultUrl": "b"]]]
        ]
        #expect(FieldPath("resultInfoJson.resultUrls[].resultUrl").values(in: data) == ["a", "b"])
        let lone: JSONValue = ["sunoData": ["audioUrl": "x"]]
        #expect(FieldPath("sunoData[].audioUrl").values(in: lone) == ["x"])
        let embeddedItems: JSONValue = ["sunoData": [#"{"audioUrl":"y"}"#]]
        #expect(FieldPath("sunoData[].audioUrl").values(in: embeddedItems) == ["y"])
        #expect([FieldPath("missing"), "sunoData[].audioUrl"].firstValue(in: lone) == "x")
    }

    @Test func writesCreatingTheObjectsOnTheWay() {
        let written = FieldPath("info.resultUrls").writing(["u"], into: ["taskId": "t"])
        #expect(written == ["taskId": "t", "info": ["resultUrls": ["u"]]])
        // An existing member is replaced in place, its siblings kept.
        let again = FieldPath("info.resolution").writing("1080p", into: written)
        #expect(again == ["taskId": "t", "info": ["resultUrls": ["u"], "resolution": "1080p"]])
        // A member that is not an object becomes one.
        #expect(FieldPath("a.b").writing(1, into: ["a": 5]) == ["a": ["b": 1]])
    }

    @Test func writesEmbeddedMembersAsJSONText() {
        let written = FieldPath("resultJson$.resultUrls").writing(["u"], into: .object([]))
        #expect(written["resultJson"] == .string(#"{"resultUrls":["u"]}"#))
        // Writing into embedded text merges with what it holds.
        let merged = FieldPath("paramJson$.model").writing("veo3", into: ["paramJson": #"{"prompt":"p"}"#])
        #expect(merged["paramJson"] == .string(#"{"prompt":"p","model":"veo3"}"#))
    }

    @Test func eachStepWritesOneElementPerValue() {
        let written = FieldPath("resultInfoJson.resultUrls[].resultUrl").writing(["a", "b"], into: .object([]))
        #expect(written == ["resultInfoJson": ["resultUrls": [["resultUrl": "a"], ["resultUrl": "b"]]]])
        let one = FieldPath("data[].audio_url").writing("x", into: .object([]))
        #expect(one == ["data": [["audio_url": "x"]]])
    }

    /// What a path writes, the same path reads back: every path the family table uses.
    @Test func everyTablePathReadsBackWhatItWrites() {
        var paths: [FieldPath] = []
        for family in TaskFamily.all {
            let shape = family.shape
            paths += [shape.statusTaskID, shape.callbackTaskID, shape.statusResult, shape.callbackResult, shape.failCode,
                      shape.failMessage, shape.createTime]
            paths += family.states.map(\.path) + family.statusModel
        }
        for path in paths {
            let value: JSONValue = path.steps.contains(where: \.each) ? ["v1", "v2"] : "v1"
            let written = path.writing(value, into: ["other": true])
            let read = path.values(in: written)
            #expect(read == (value.arrayValue ?? [value]), "\(path)")
            #expect(written["other"] == true, "\(path)")
        }
    }
}
