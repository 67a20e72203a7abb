/// One complete request, body included, as handed to an `HTTPResponder`.
///
/// A value type; it owns its bytes and may be kept or sent to any thread.
public struct HTTPRequest: Sendable {
    /// The method as sent, case-sensitive: `"GET"`, `"POST"`, ...
    public var method: String
    /// The target's path, without the query; percent-decoding is not applied. For an
    /// absolute-form target (`http://host/p`) this is the path part (`/p`, or `/` when
    /// empty); for `OPTIONS *` it is `"*"`.
    public var path: String
    /// The raw query, without the `?`; `""` when there is none.
    public var query: String
    /// The version the client spoke.
    public var version: HTTPVersion
    /// The header fields, in arrival order.
    public var headers: HTTPHeaders
    /// The body, with any chunked framing removed; empty when there is none.
    public var body: [UInt8]
    /// The connection's peer.
    public var peer: HTTPPeer
    /// `CLOCK_MONOTONIC` in nanoseconds when the request head was complete.
    public var receivedAtNanos: UInt64

    /// A request made by hand, e.g. to test a responder without a socket.
    public init(
        method: String, path: String, query: String = "", version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], peer: HTTPPeer = .tcp(address: "127.0.0.1"),
        receivedAtNanos: UInt64 = 0
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.peer = peer
        self.receivedAtNanos = receivedAtNanos
    }
}
