/// A response to one request.
///
/// The server owns the framing: it writes `Content-Length` from `body.count` (none for
/// 1xx, 204 and 304), a `Date`, and `Connection` as the connection's fate requires, and
/// drops any `Content-Length`, `Transfer-Encoding` or `Connection` given here, except
/// that `Connection: close` is honoured (the connection closes after this response).
/// A header whose name or value holds CR, LF or NUL is dropped. A status outside
/// 200...999 is sent as 500: interim responses are the server's business.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields, written in this order.
    public var headers: [(name: String, value: String)]
    /// The body; not sent for HEAD requests, 204 and 304, but still counted in
    /// `Content-Length` for HEAD.
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension HTTPResponse {
    /// Releases the header fields one by one, leaving none. An array of (name, value)
    /// tuples freed with its fields in it has each destroyed by the runtime's generic
    /// tuple code, at several times the cost of this loop's compiled one (every
    /// response's fields are released after they are encoded; hot path, STYLE.md 12).
    mutating func releaseFields() {
        while headers.popLast() != nil {}
    }
}
