import Testing

@testable import KieWatchConsole

struct AdminProtocolTests {
    private func parseAll(_ bytes: [UInt8], oneByteAtATime: Bool) throws -> [AdminResponseParser.Event] {
        var parser = AdminResponseParser()
        if !oneByteAtATime { return try parser.feed(bytes) }
        var events: [AdminResponseParser.Event] = []
        for byte in bytes { events += try parser.feed([byte]) }
        #expect(!parser.isMidAnswer)
        return events
    }

    @Test func frameIsExact() {
        #expect(AdminProtocol.frame(output: "a\nb\n", status: .ok) == Array("a\nb\n\u{1E}END ok\n".utf8))
        #expect(AdminProtocol.frame(output: "", status: .error) == Array("\u{1E}END error\n".utf8))
        #expect(AdminProtocol.frame(output: "\n", status: .ok) == Array("\n\u{1E}END ok\n".utf8))
        // content that looks like the marker is escaped with one more separator
        #expect(AdminProtocol.frame(output: "\u{1E}END ok", status: .ok) == Array("\u{1E}\u{1E}END ok\n\u{1E}END ok\n".utf8))
    }

    @Test(arguments: [false, true])
    func roundTripIncludingTheMarkerCharacter(oneByteAtATime: Bool) throws {
        let output = "status: ok\n\u{1E}END ok\n\u{1E}\u{1E}x\nmid \u{1E} line\n\nlast é"
        let bytes = AdminProtocol.frame(output: output, status: .ok) + AdminProtocol.frame(output: "no such task", status: .error)
        let events = try parseAll(bytes, oneByteAtATime: oneByteAtATime)
        #expect(events == [
            .line("status: ok"), .line("\u{1E}END ok"), .line("\u{1E}\u{1E}x"), .line("mid \u{1E} line"), .line(""),
            .line("last é"), .end(.ok), .line("no such task"), .end(.error),
        ])
    }

    @Test func streamedLinesMatchAWholeFrame() {
        let streamed = AdminProtocol.frameLine("a") + AdminProtocol.frameLine("\u{1E}b") + AdminProtocol.endMarker(.ok)
        #expect(streamed == AdminProtocol.frame(output: "a\n\u{1E}b", status: .ok))
    }

    @Test func parserKnowsWhenItIsMidAnswer() throws {
        var parser = AdminResponseParser()
        #expect(!parser.isMidAnswer)
        _ = try parser.feed(Array("par".utf8))
        #expect(parser.isMidAnswer)
        _ = try parser.feed(Array("tial\n\u{1E}END ok\n".utf8))
        #expect(!parser.isMidAnswer)
    }

    @Test func unknownControlLineIsAProtocolViolation() {
        var parser = AdminResponseParser()
        #expect(throws: ConsoleError.self) { try parser.feed(Array("\u{1E}END maybe\n".utf8)) }
        var small = AdminResponseParser(maxLineBytes: 8)
        #expect(throws: ConsoleError.self) { try small.feed(Array("0123456789".utf8)) }
    }

    @Test func requests() {
        #expect(AdminProtocol.parseRequest(Array("  models 24h \r".utf8)) == .command("models 24h"))
        #expect(AdminProtocol.parseRequest(Array("".utf8)) == .command(""))
        #expect(AdminProtocol.parseRequest(Array(".format json".utf8)) == .directive(.format(.json)))
        #expect(AdminProtocol.parseRequest(Array(".color on".utf8)) == .directive(.color(true)))
        #expect(AdminProtocol.parseRequest(Array(".width 120".utf8)) == .directive(.width(120)))
        #expect(AdminProtocol.parseRequest(Array(".format xml".utf8)) == .invalid("unknown format 'xml' (use table or json)"))
        #expect(AdminProtocol.parseRequest(Array(".width 5".utf8)) == .invalid("'.width' takes a number of columns from 20 to 1000, or none"))
        #expect(AdminProtocol.parseRequest(Array(".width none".utf8)) == .directive(.width(nil)))
        #expect(AdminProtocol.parseRequest(Array(".pager on".utf8)) == .invalid("unknown directive '.pager' (known: .format, .color, .width)"))
        #expect(AdminProtocol.encodeRequest("sql SELECT 1\nFROM calls") == Array("sql SELECT 1 FROM calls\n".utf8))
    }

    @Test func sessionOptionsSendOnlyWhatDiffersFromDefaults() {
        #expect(AdminProtocol.SessionOptions().directives == [])
        var options = AdminProtocol.SessionOptions(format: .json, color: true, width: 120)
        #expect(options.directives.map(\.line) == [".format json", ".color on", ".width 120"])
        options.apply(.format(.table))
        #expect(options.format == .table)
        var server = AdminProtocol.SessionOptions()
        for directive in options.directives { server.apply(directive) }
        #expect(server == options)

        // A client whose stdout is a pipe asks for no width at all.
        let piped = AdminProtocol.SessionOptions(width: nil)
        #expect(piped.directives.map(\.line) == [".width none"])
        var agent = AdminProtocol.SessionOptions()
        for directive in piped.directives {
            guard case .directive(let parsed) = AdminProtocol.parseRequest(Array(directive.line.utf8)) else {
                Issue.record("\(directive.line) does not parse")
                continue
            }
            agent.apply(parsed)
        }
        #expect(agent.width == nil)
    }

    @Test func lineBufferHandsOutCompleteLines() throws {
        var buffer = LineBuffer(maxLineBytes: 16)
        buffer.append(Array("ab\ncd".utf8))
        #expect(try buffer.nextLine() == Array("ab".utf8))
        #expect(try buffer.nextLine() == nil)
        #expect(buffer.remainder == Array("cd".utf8))
        buffer.append(Array("\n\n".utf8))
        #expect(try buffer.nextLine() == Array("cd".utf8))
        #expect(try buffer.nextLine() == [])
        #expect(!buffer.hasPartialLine)
    }
}
