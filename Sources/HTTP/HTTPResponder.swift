/// The application side of the server: turns each request into one response.
public protocol HTTPResponder: Sendable {
    /// Starts answering `request`.
    ///
    /// Called on an event-loop thread, so it must not block: hand slow work to another
    /// thread and answer from there. Call `respond` exactly once, from any thread, now or
    /// later; the server writes responses in request order whatever order they come in.
    /// Calls after the first are ignored, as is a call made after the client went away.
    /// A request that is never answered holds its connection (and the ones pipelined
    /// behind it) until shutdown's grace period ends.
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
