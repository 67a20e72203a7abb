public import HTTP
import JSON
import Ledger

/// An API failure: HTTP status, the envelope's error code, a message for humans and
/// any headers the status calls for (`Allow`, `Retry-After`). Never holds a secret.
public struct APIError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    public var headers: [(name: String, value: String)] = []

    public static func == (a: APIError, b: APIError) -> Bool {
        a.status == b.status && a.code == b.code && a.message == b.message
    }

    public init(status: Int, code: String, message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func invalid(_ field: String, _ reason: String) -> APIError {
        APIError(status: 400, code: "INVALID_REQUEST", message: "\(field): \(reason)")
    }

    static func notFound(_ message: String) -> APIError { APIError(status: 404, code: "NOT_FOUND", message: message) }
    static let unauthorized = APIError(
        status: 401, code: "UNAUTHORIZED",
        message: "a credential is required: Authorization: Bearer <secret> or X-API-Key",
        headers: [("WWW-Authenticate", "Bearer realm=\"keyledger\"")])
    static func forbidden(_ message: String) -> APIError { APIError(status: 403, code: "FORBIDDEN", message: message) }

    /// The one place ledger errors become HTTP statuses.
    init(_ error: LedgerError) {
        switch error {
        case .invalid(let field, let reason): self = .invalid(field, reason)
        case .notFound(let m): self = .notFound(m)
        case .conflict(let m): self.init(status: 409, code: "CONFLICT", message: m)
        case .unauthorized(let m):
            self.init(
                status: 401, code: "UNAUTHORIZED", message: m,
                headers: [("WWW-Authenticate", "Bearer realm=\"keyledger\"")])
        case .forbidden(let m): self = .forbidden(m)
        case .rateLimited(let m, let retry):
            self.init(status: 429, code: "RATE_LIMITED", message: m, headers: [("Retry-After", "\(retry)")])
        case .unavailable(let m): self.init(status: 503, code: "UNAVAILABLE", message: m)
        }
    }

    /// Protocol errors from the HTTP layer, in the same envelope.
    public init(_ error: HTTPProtocolError) {
        let code: String
        switch error.status {
        case 400: code = "INVALID_REQUEST"
        case 408: code = "REQUEST_TIMEOUT"
        case 411: code = "LENGTH_REQUIRED"
        case 413: code = "PAYLOAD_TOO_LARGE"
        case 431: code = "HEADERS_TOO_LARGE"
        case 501: code = "NOT_IMPLEMENTED"
        case 503: code = "UNAVAILABLE"
        case 505: code = "HTTP_VERSION_NOT_SUPPORTED"
        default: code = "INVALID_REQUEST"
        }
        self.init(status: error.status, code: code, message: error.message)
    }

    /// The failure envelope.
    var body: [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("success", false)
        w.key("error")
        w.beginObject()
        w.field("code", code)
        w.field("message", message)
        w.endObject()
        w.endObject()
        return w.finish()
    }

    /// The whole response for this error.
    public var response: HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }
}
