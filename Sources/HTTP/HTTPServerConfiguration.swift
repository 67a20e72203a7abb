/// Limits, timeouts and threading of an `HTTPServer`. A value type; defaults suit a
/// service behind a gateway.
public struct HTTPServerConfiguration: Sendable {
    /// Largest request head (request line, header fields and the blank line) in bytes;
    /// a larger one is answered 431 and the connection closed.
    public var maxHeaderBytes: Int
    /// Largest request body in bytes, after chunked decoding; a larger one is answered
    /// 413 and the connection closed. A declared `Content-Length` over the limit is
    /// refused at once, without reading the body.
    public var maxBodyBytes: Int
    /// Time a request head may take to arrive, counted from its first byte; then 408.
    public var headerTimeout: Duration
    /// Time a request body may take to arrive, counted from the end of its head; then 408.
    public var bodyTimeout: Duration
    /// Time a connection may sit with nothing in flight and nothing received before it
    /// is closed without a word. A new connection that has sent no request yet gets
    /// `headerTimeout` instead, so silent connections cannot hold slots for long.
    public var idleTimeout: Duration
    /// Time a response may wait on a client that does not read before the connection
    /// is dropped.
    public var writeTimeout: Duration
    /// Most TCP connections open at once, across all event loops; a client over the cap
    /// gets a 503 and is closed. Unix socket connections are counted apart.
    public var maxConnections: Int
    /// Most Unix socket connections open at once, a capacity of their own, so local
    /// administration gets in however many TCP connections are open; one over the cap
    /// gets a 503 and is closed.
    public var maxSocketConnections: Int
    /// Most TCP connections open at once from one client address (the same cap for
    /// each IPv4 or IPv6 address); one over it gets a 503 and is closed.
    public var maxConnectionsPerAddress: Int
    /// Most requests of one connection handed to the responder and not yet written
    /// back; further pipelined requests wait in the socket. At least 1.
    public var maxPipelinedRequests: Int
    /// Most responses of one connection encoded and not yet all sent: past it, the
    /// connection takes no new request (and reads nothing more) until the client has
    /// read everything written so far. At least 1.
    public var maxUnsentResponses: Int
    /// Most bytes of one connection's responses encoded and not yet sent: past it, the
    /// connection stops taking requests like past `maxUnsentResponses`. With the input
    /// and body limits and `maxConnections`, this bounds the memory that clients who
    /// pipeline requests and do not read the answers can hold. At least 1.
    public var maxUnsentBytes: Int
    /// Number of event-loop threads. At least 1.
    public var eventLoops: Int
    /// The event-loop threads' nice value (0: the process's); below 0 needs `CAP_SYS_NICE`.
    public var loopNice: Int32 = 0
    /// Longest `HTTPServer.shutdown()` waits for in-flight requests before closing
    /// their connections anyway.
    public var shutdownGrace: Duration
    /// Renders a protocol error (malformed request, limit, timeout, overload) as a
    /// response. Called on an event-loop thread; must not block. The default answers
    /// with the message as plain text.
    public var errorResponse: @Sendable (HTTPProtocolError) -> HTTPResponse
    /// Work the first event loop runs between its turns (e.g. a ledger writer's batches):
    /// nil, none.
    public var loopWork: (any LoopWork)? = nil

    public init(
        maxHeaderBytes: Int = 16 * 1024,
        maxBodyBytes: Int = 64 * 1024,
        headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(60),
        writeTimeout: Duration = .seconds(30),
        maxConnections: Int = 1024,
        maxSocketConnections: Int = 64,
        maxConnectionsPerAddress: Int = 256,
        maxPipelinedRequests: Int = 32,
        maxUnsentResponses: Int = 64,
        maxUnsentBytes: Int = 256 * 1024,
        eventLoops: Int = 1,
        shutdownGrace: Duration = .seconds(10),
        errorResponse: @escaping @Sendable (HTTPProtocolError) -> HTTPResponse = Self.plainTextErrorResponse
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
        self.maxSocketConnections = maxSocketConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxPipelinedRequests = maxPipelinedRequests
        self.maxUnsentResponses = maxUnsentResponses
        self.maxUnsentBytes = maxUnsentBytes
        self.eventLoops = eventLoops
        self.shutdownGrace = shutdownGrace
        self.errorResponse = errorResponse
    }

    /// The default `errorResponse`: the status with the message as `text/plain`.
    @Sendable
    public static func plainTextErrorResponse(_ error: HTTPProtocolError) -> HTTPResponse {
        HTTPResponse(
            status: error.status,
            headers: [(name: "Content-Type", value: "text/plain; charset=utf-8")],
            body: Array((error.message + "\n").utf8))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, 0 when negative, saturating when huge.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        guard seconds < 9_000_000_000 else { return UInt64.max / 2 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}

/// Work an event loop runs on its own thread between its turns: after the turn's events,
/// before the answers they produced are written out. It must not block for long: every
/// connection of the loop waits meanwhile.
public protocol LoopWork: Sendable {
    /// On the loop's thread, before its first turn. `wake` wakes the loop from any other
    /// thread (it then runs ``runDue()`` soon).
    func attach(wake: @escaping @Sendable () -> Void)
    /// Runs what is due now.
    func runDue()
    /// Nanoseconds until something is due (0: now; `UInt64.max`: nothing until woken);
    /// asked before the loop sleeps.
    func dueIn() -> UInt64
    /// On the loop's thread as it ends (its last ``runDue()`` is over).
    func detach()
}
