/// Why ``JSONParser`` rejected its input, and where.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based byte offset of the first byte that cannot be part of valid JSON, or
    /// the input's length when it ends too early. For an invalid UTF-8 sequence, a bad
    /// escape or a duplicate key, it is where that sequence, escape or key starts.
    public var offset: Int
    /// What was wrong, phrased for the person who wrote the document.
    public var reason: String

    /// Creates an error at `offset` with `reason`.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    /// For example `invalid JSON at byte 17: expected ':' after object key`.
    public var description: String {
        "invalid JSON at byte \(offset): \(reason)"
    }
}
