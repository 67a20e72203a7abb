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

    /// Starts answering `request` through `reply`, which can also have the response
    /// made on the event loop's thread (``HTTPReply/respond(rendering:)``). The same
    /// rules as ``handle(_:respond:)``; by default it calls that.
    func handle(_ request: HTTPRequest, reply: HTTPReply)
}

extension HTTPResponder {
    public func handle(_ request: HTTPRequest, reply: HTTPReply) {
        handle(request, respond: reply.respond)
    }
}

/// A response that another thread has the data for and the event loop makes: the
/// thread that decided (say, a single writer everyone waits on) only hands it over,
/// and the rendering runs on the loop's thread, next to the encoding and the send.
public protocol HTTPDeferredResponse: AnyObject, Sendable {
    /// Makes the response. Called once, on the event-loop thread of the request; not
    /// called when the connection has gone.
    func render() -> HTTPResponse
}

/// Where the response to one request goes: its connection on its event loop.
///
/// Two words and no allocation; any thread may use it, once.
public struct HTTPReply: Sendable {
    let mailbox: Mailbox
    let address: ResponseAddress

    /// Answers with `response`.
    public func respond(_ response: HTTPResponse) {
        mailbox.post(.response(address, response))
    }

    /// Answers with what `deferred.render()` makes on the event loop's thread.
    ///
    /// Hand-offs from one thread are gathered: while the loop is busy, posting costs a
    /// lock and an append, and a loop asleep is woken once for all that arrive before it runs.
    public func respond(rendering deferred: any HTTPDeferredResponse) {
        mailbox.post(.deferred(address, deferred))
    }
}
