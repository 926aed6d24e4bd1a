#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import KieWatchConsole

struct HistoryTests {
    @Test func skipsBlankLinesAndConsecutiveDuplicates() {
        var history = History()
        for line in ["status", "status", "", "   ", "models", "status"] { history.add(line) }
        #expect(history.entries == ["status", "models", "status"])
    }

    @Test func isBounded() {
        var history = History(maxEntries: 3)
        for index in 1...5 { history.add("cmd \(index)") }
        #expect(history.entries == ["cmd 3", "cmd 4", "cmd 5"])
    }

    @Test func newlinesAreFlattened() {
        var history = History()
        history.add("sql SELECT 1\nFROM calls")
        #expect(history.entries == ["sql SELECT 1 FROM calls"])
    }

    @Test func fileRoundTripWithMode0600() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        let history = History(entries: ["status", "models 24h", "sql SELECT 'é'"])
        try history.save(to: path)
        #expect(History.load(from: path) == history)

        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func saveTightensAnExistingWideFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        fchmod(fd, 0o644)
        close(fd)
        try History(entries: ["status"]).save(to: path)
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func loadKeepsTheNewestEntriesWithinTheBound() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("history")
        try History(entries: (1...10).map { "cmd \($0)" }).save(to: path)
        #expect(History.load(from: path, maxEntries: 2).entries == ["cmd 9", "cmd 10"])
    }

    @Test func missingOrUnreadableFileLoadsEmpty() {
        #expect(History.load(from: "/nonexistent/dir/history").entries == [])
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        #expect(History.load(from: directory.path).entries == [])  // a directory
    }

    @Test func saveToAnImpossiblePathThrows() {
        #expect(throws: ConsoleError.self) { try History(entries: ["x"]).save(to: "/nonexistent/dir/history") }
    }

    @Test func defaultPathFollowsHome() {
        #expect(History.defaultPath(environment: ["HOME": "/home/oncall"]) == "/home/oncall/.kiewatch_history")
        #expect(History.defaultPath(environment: ["HOME": "/root/"]) == "/root/.kiewatch_history")
        #expect(History.defaultPath(environment: [:]) == nil)
    }
}
