/// A bad command-line flag, environment variable or config-file entry: one line that names
/// it and says what is expected. The command line turns it into exit code 2.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
