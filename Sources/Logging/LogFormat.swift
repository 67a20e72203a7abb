/// How every stderr line of the process is written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: `time` (RFC 3339), `level`, `message`, then the fields.
    case json
    /// `keyledger: [level: ]message key=value ...`, for a person at a terminal.
    case text
}

/// How much a line matters; `info` is the normal course of things.
public enum LogLevel: String, Sendable {
    case info
    case warning
    case error
}

/// The value of one field of a log line.
public enum LogValue: Sendable, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral {
    case string(String)
    case integer(Int64)
    case decimal(Double)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }

    /// A duration in seconds, to the millisecond.
    public static func seconds(_ seconds: Double) -> LogValue { .decimal((seconds * 1000).rounded() / 1000) }
}
