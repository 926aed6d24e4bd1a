import Foundation
import KieWatchCore

/// Paths of the repository and its Kie payload samples (`Tests/Fixtures/kie`), found from this
/// file's location, so the tests run from a bare clone.
public enum Fixtures {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/kie`: request and answer bodies in the shapes Kie documents.
    public static let kieDirectory: URL = packageRoot.appendingPathComponent("Tests/Fixtures/kie")

    /// The bytes of a Kie payload sample, e.g. `kie("callback-veo-success.json")`; a missing
    /// sample throws (the test fails with the path), it never stops the test process.
    public static func kie(_ name: String) throws -> [UInt8] {
        let url = kieDirectory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureError(message: "fixture \(url.path) not found")
        }
        return [UInt8](data)
    }

    /// A sample parsed as JSON.
    public static func kieJSON(_ name: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(try kie(name))
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError(message: "fixture \(name) is not JSON: \(error)")
        }
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
