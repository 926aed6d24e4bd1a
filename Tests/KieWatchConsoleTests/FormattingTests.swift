import KieWatchCore
import Testing

@testable import KieWatchConsole

struct HumanFormatTests {
    @Test(arguments: [
        (0, "0ms"), (850, "850ms"), (999, "999ms"), (1_000, "1.0s"), (12_345, "12.3s"), (59_999, "59.9s"),
        (60_000, "1m00s"), (245_900, "4m05s"), (3_599_999, "59m59s"), (3_600_000, "1h00m"),
        (7_980_000, "2h13m"), (86_400_000, "1d0h"), (273_600_000, "3d4h"), (-1_500, "-1.5s"),
    ] as [(Int64, String)])
    func duration(ms: Int64, expected: String) {
        #expect(HumanFormat.duration(ms: ms) == expected)
    }

    @Test func age() {
        let now: Int64 = 1_795_261_350_000
        #expect(HumanFormat.age(of: now - 400, now: now) == "just now")
        #expect(HumanFormat.age(of: now - 42_000, now: now) == "42s ago")
        #expect(HumanFormat.age(of: now - 3 * 60_000 - 59_000, now: now) == "3m ago")
        #expect(HumanFormat.age(of: now - 2 * 3_600_000, now: now) == "2h ago")
        #expect(HumanFormat.age(of: now - 5 * 86_400_000, now: now) == "5d ago")
        #expect(HumanFormat.age(of: now + 180_000, now: now) == "in 3m")
    }

    @Test func timestamp() {
        #expect(HumanFormat.timestamp(ms: 1_795_261_350_000) == "2026-11-21 11:42:30Z")
        #expect(HumanFormat.timestamp(ms: 1_795_261_350_999) == "2026-11-21 11:42:30Z")
        #expect(HumanFormat.timestamp(ms: 0) == "1970-01-01 00:00:00Z")
        #expect(HumanFormat.timestamp(ms: -1) == "1969-12-31 23:59:59Z")
        #expect(HumanFormat.timestamp(ms: 951_782_400_000) == "2000-02-29 00:00:00Z")
    }

    @Test func percentCountAndBytes() {
        #expect(HumanFormat.percent(0.975) == "97.5%")
        #expect(HumanFormat.percent(1) == "100.0%")
        #expect(HumanFormat.percent(0.00049) == "0.0%")
        #expect(HumanFormat.percent(.nan) == "-")
        #expect(HumanFormat.percent(1, of: 3) == "33.3%")
        #expect(HumanFormat.percent(0, of: 0) == "-")
        #expect(HumanFormat.count(0) == "0")
        #expect(HumanFormat.count(999) == "999")
        #expect(HumanFormat.count(12_345) == "12,345")
        #expect(HumanFormat.count(1_234_567) == "1,234,567")
        #expect(HumanFormat.count(-12_345) == "-12,345")
        #expect(HumanFormat.bytes(512) == "512 B")
        #expect(HumanFormat.bytes(1_536) == "1.5 KiB")
        #expect(HumanFormat.bytes(1_258_291) == "1.2 MiB")
        #expect(HumanFormat.bytes(1_048_575) == "1.0 MiB")  // not "1024.0 KiB"
    }
}

struct ColorPolicyTests {
    @Test func detection() {
        #expect(ColorPolicy.detect(isTTY: true, environment: [:]).isEnabled)
        #expect(ColorPolicy.detect(isTTY: true, environment: ["NO_COLOR": ""]).isEnabled)
        #expect(!ColorPolicy.detect(isTTY: true, environment: ["NO_COLOR": "1"]).isEnabled)
        #expect(!ColorPolicy.detect(isTTY: false, environment: [:]).isEnabled)
        #expect(!ColorPolicy.detect(isTTY: true, environment: ["TERM": "dumb"]).isEnabled)
    }
}

struct TableRendererTests {
    private func modelsTable() -> TableRenderer {
        var table = TableRenderer(columns: [.init("MODEL"), .init("CALLS"), .init("P95"), .init("FAILED"), .init("LAST ERROR")])
        table.addRow(["veo3_fast", "12,345", "4m05s", .init("2.5%", tone: .bad), "422 invalid aspect ratio"])
        table.addRow(["kling-2.6/text-to-video", "87", "850ms", .init("0.0%", tone: .good), ""])
        return table
    }

    @Test func alignsTextLeftAndNumbersRight() {
        #expect(modelsTable().render(width: 120) == """
            MODEL                     CALLS    P95  FAILED  LAST ERROR
            veo3_fast                12,345  4m05s    2.5%  422 invalid aspect ratio
            kling-2.6/text-to-video      87  850ms    0.0%
            """)
    }

    @Test func shrinksTheWidestTextColumnsToFit80Columns() {
        var table = modelsTable()
        table.addRow(["runway-aleph", "3", "12.3s", "33.3%", "upstream timed out after 30s while polling recordInfo for the task"])
        let rendered = table.render(width: 80)
        #expect(rendered == """
            MODEL                     CALLS    P95  FAILED  LAST ERROR
            veo3_fast                12,345  4m05s    2.5%  422 invalid aspect ratio
            kling-2.6/text-to-video      87  850ms    0.0%
            runway-aleph                  3  12.3s   33.3%  upstream timed out after 30s wh…
            """)
        #expect(rendered.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    /// 35 columns for two 30-wide text columns: both shrink, ties taken from the right.
    @Test func shrinksSeveralColumnsWidestFirst() {
        var table = TableRenderer(columns: [.init("ID", alignment: .left), .init("MESSAGE"), .init("N")])
        table.addRow([String(repeating: "a", count: 30), String(repeating: "b", count: 30), "1"])
        #expect(table.render(width: 40) == """
            ID                  MESSAGE            N
            aaaaaaaaaaaaaaaaa…  bbbbbbbbbbbbbbbb…  1
            """)
    }

    /// A task id is copied into `task ID`: the other text columns shrink, down to their
    /// minimum, and the id stays whole even when the line then exceeds the width.
    @Test func identifierColumnsAreNeverShortened() {
        let id = "281e5b0a9f2c4d7e8b1a6c3f5e9d0b47"
        var table = TableRenderer(columns: [.identifier("TASK"), .init("MODEL"), .init("DETAIL")])
        table.addRow([.init(id), "kling-2.6/image-to-video", "recordInfo answered 500 three times in a row"])
        let fitted = table.render(width: 60)
        #expect(fitted == """
            TASK                              MODEL         DETAIL
            281e5b0a9f2c4d7e8b1a6c3f5e9d0b47  kling-2.6/i…  recordInfo …
            """)
        #expect(fitted.split(separator: "\n").allSatisfy { $0.count <= 60 })
        let squeezed = table.render(width: 20)
        #expect(squeezed.split(separator: "\n")[1] == "\(id)  kli…  rec…")
    }

    /// Output to a pipe or a file has no width: nothing is cut, whatever the length.
    @Test func noWidthMeansNothingIsShortened() {
        var table = modelsTable()
        let long = "upstream timed out after 30s while polling recordInfo for the task, three times in a row"
        table.addRow(["runway-aleph", "3", "12.3s", "33.3%", .init(long)])
        let rendered = table.render(width: nil)
        #expect(!rendered.contains("…"))
        #expect(rendered.split(separator: "\n").last == "runway-aleph                  3  12.3s   33.3%  \(long)")
    }

    @Test func numbersAreNeverTruncated() {
        var table = TableRenderer(headers: ["A", "BYTES"])
        table.addRow(["x", "123,456,789,012"])
        #expect(table.render(width: 10) == "A            BYTES\nx  123,456,789,012")
    }

    @Test func colourOnlyWhenEnabled() {
        var table = TableRenderer(headers: ["TASK", "STATE"])
        table.addRow(["t1", .init("failed", tone: .bad)])
        table.addRow(["t2", .init("ok", tone: .good)])
        #expect(table.render(width: 80, color: .disabled) == "TASK  STATE\nt1    failed\nt2    ok")
        #expect(table.render(width: 80, color: .enabled) == """
            \u{1B}[1mTASK\u{1B}[0m  \u{1B}[1mSTATE\u{1B}[0m
            t1    \u{1B}[31mfailed\u{1B}[0m
            t2    \u{1B}[32mok\u{1B}[0m
            """)
    }

    @Test func controlCharactersAndWideCharactersInCells() {
        var table = TableRenderer(headers: ["NAME", "NOTE"])
        table.addRow(["日本", "a\u{1B}[2Jb\nc"])
        table.addRow(["x", "y"])
        #expect(table.render() == "NAME  NOTE\n日本  a [2Jb c\nx     y")
    }

    @Test func shortRowsArePaddedAndAutomaticAlignmentDetectsNumbers() {
        var table = TableRenderer(headers: ["A", "B"])
        table.addRow(["only"])
        #expect(table.render() == "A     B\nonly")
        #expect(TableRenderer.looksNumeric("1.2 MiB"))
        #expect(TableRenderer.looksNumeric("-3"))
        #expect(TableRenderer.looksNumeric("97.5%"))
        #expect(!TableRenderer.looksNumeric("veo3"))
        #expect(!TableRenderer.looksNumeric("2026-11-21 11:42:30Z"))
    }
}

/// The console's `--json` output is Core's `JSONValue`; these pin what scripts rely on.
struct ConsoleJSONTests {
    @Test func escapesExactly() {
        let value = JSONValue.string("q\" b\\ n\n r\r t\t \u{01} \u{1F} é 日 /")
        #expect(value.rendered() == #""q\" b\\ n\n r\r t\t \u0001 \u001f é 日 /""#)
    }

    @Test func keepsKeyOrderOrSortsIt() {
        let value: JSONValue = ["model": "veo3_fast", "calls": 12, "ok": true, "p95": 1.5, "last": nil]
        #expect(value.rendered() == #"{"model":"veo3_fast","calls":12,"ok":true,"p95":1.5,"last":null}"#)
        #expect(value.rendered(sortedKeys: true) == #"{"calls":12,"last":null,"model":"veo3_fast","ok":true,"p95":1.5}"#)
        #expect(value.rendered() == value.serialized())
    }

    @Test func integersAndDoubles() {
        #expect(JSONValue.int(9_007_199_254_740_993).rendered() == "9007199254740993")
        #expect(JSONValue.double(0.1).rendered() == "0.1")
        #expect(JSONValue.double(.infinity).rendered() == "null")
        #expect(JSONValue.double(.nan).rendered() == "null")
    }

    @Test func pretty() {
        let value: JSONValue = ["rows": [1, 2], "empty": [], "o": .object([])]
        #expect(value.rendered(pretty: true) == """
            {
              "rows": [
                1,
                2
              ],
              "empty": [],
              "o": {}
            }
            """)
    }
}
