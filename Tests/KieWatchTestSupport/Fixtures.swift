import Foundation
import KieWatchCore

/// Paths of the repository and the shared payload samples, found from this file's location
/// (the tests run from a clone with `shared/` beside it).
public enum Fixtures {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures/kie` next to the package.
    public static let kieDirectory: URL = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/kie")

    /// The bytes of a Kie payload sample, e.g. `kie("callback-veo-success.json")`.
    public static func kie(_ name: String) throws -> [UInt8] {
        let url = kieDirectory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureError(message: "fixture \(url.path) not found (shared/ must sit beside the clone)")
        }
        return [UInt8](data)
    }

    /// A sample parsed as JSON.
    public static func kieJSON(_ name: String) throws -> JSONValue {
        try JSONValue.parse(try kie(name))
    }

    /// Every sample's file name.
    public static func allKieNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: kieDirectory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
