/// A request the server refused before it reached the responder, e.g. a malformed
/// head, a body over the limit or a client too slow. The server renders it through
/// `HTTPServerConfiguration.errorResponse` and closes the connection after it.
public struct HTTPProtocolError: Error, Sendable, Equatable {
    /// The status to answer with: 400, 408, 413, 431, 501, 503 or 505.
    public var status: Int
    /// What went wrong, for a human; never echoes request bytes.
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    static func badRequest(_ message: String) -> Self { Self(status: 400, message: message) }

    static let headTimeout = Self(status: 408, message: "The request head did not arrive in time.")
    static let bodyTimeout = Self(status: 408, message: "The request body did not arrive in time.")

    static func bodyTooLarge(limit: Int) -> Self {
        Self(status: 413, message: "The request body is larger than the limit of \(limit) bytes.")
    }

    static func headTooLarge(limit: Int) -> Self {
        Self(status: 431, message: "The request line and header fields are larger than the limit of \(limit) bytes.")
    }

    static let unsupportedTransferCoding = Self(
        status: 501, message: "Transfer-Encoding other than chunked is not supported.")
    static let tooManyConnections = Self(status: 503, message: "The server has too many open connections.")
    static let tooManyConnectionsFromAddress = Self(
        status: 503, message: "The server has too many open connections from this client address.")
    static let unsupportedVersion = Self(status: 505, message: "Only HTTP/1.0 and HTTP/1.1 are served.")
}
