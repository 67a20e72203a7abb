/// The HTTP version of a request. The server speaks HTTP/1.1 and answers HTTP/1.0
/// clients; a request claiming HTTP/1.2 or later 1.x is served as HTTP/1.1 (RFC 9110
/// section 2.5), and HTTP/2 or later on this port is refused with 505.
public enum HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    case http1_0
    case http1_1

    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    public var description: String {
        switch self {
        case .http1_0: "HTTP/1.0"
        case .http1_1: "HTTP/1.1"
        }
    }
}
