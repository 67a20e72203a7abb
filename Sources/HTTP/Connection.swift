internal import CSystem
internal import Glibc

/// One client connection: its socket, the request being received, the requests in
/// flight and the bytes waiting to be sent.
///
/// Owned by one `EventLoop` and touched only on its thread; responses from other threads
/// reach it through the loop's `Mailbox`. Its input and output buffers are reused for
/// every request (hot path, STYLE.md 12). Its state goes without the runtime's
/// exclusivity checks (`@exclusivity(unchecked)`): one thread, and no access to a
/// property overlaps another to the same one, and each check is a runtime call per access.
final class Connection {
    /// Where the connection is in receiving the current request.
    enum Phase {
        /// Between requests, or receiving a head (`headStartedAt != 0`).
        case head
        /// Receiving a body of a declared length; `remaining` bytes still to come.
        case fixedBody(remaining: Int)
        /// Receiving a chunked body.
        case chunkedBody(ChunkedDecoder)
        /// Reading no more requests: the last one asked to close, an error was answered,
        /// or the server is shutting down.
        case stopped
    }

    /// A request handed to the responder (or refused by the server) whose response is
    /// not yet written. Responses are written strictly in this order.
    struct Slot {
        var response: HTTPResponse?
        var isHead: Bool
        var version: HTTPVersion
        /// Close the connection after this response.
        var close: Bool
    }

    let fd: Int32
    let serial: UInt32
    let peer: HTTPPeer
    /// Unowned without checks: the loop owns every connection through its table and
    /// closes them all before it ends, so the loop is alive whenever a connection runs.
    unowned(unsafe) let loop: EventLoop

    // Input: bytes received and not yet parsed are input[inputStart..<inputEnd].
    @exclusivity(unchecked) var input: [UInt8]
    @exclusivity(unchecked) var inputStart = 0
    @exclusivity(unchecked) var inputEnd = 0
    /// The socket may have unread bytes (edge-triggered epoll: set by EPOLLIN, cleared by
    /// a short read or EAGAIN).
    @exclusivity(unchecked) var readable = false
    /// epoll reported the client's FIN (EPOLLRDHUP); reading on until recv returns 0.
    @exclusivity(unchecked) var finReported = false
    /// recv returned end of stream: nothing more will arrive.
    @exclusivity(unchecked) var inputClosed = false

    // The request being received.
    @exclusivity(unchecked) var phase = Phase.head
    /// Monotonic time of the current head's first byte; 0 when no head is under way.
    @exclusivity(unchecked) var headStartedAt: UInt64 = 0
    /// Where to resume looking for the end of the current head, from `inputStart`.
    @exclusivity(unchecked) var headScanResume = 0
    @exclusivity(unchecked) var currentHead: RequestHead?
    /// The body being received; between requests, the last one's storage, kept for the next.
    @exclusivity(unchecked) var currentBody: [UInt8] = []
    /// The last request's headers, handed back once it was handled: the next head's
    /// fields are written into their storage (`RequestHeadParser.parse`).
    @exclusivity(unchecked) var spareHeaders = HTTPHeaders()
    @exclusivity(unchecked) var currentReceivedAt: UInt64 = 0
    @exclusivity(unchecked) var bodyStartedAt: UInt64 = 0
    /// A `100 Continue` is owed to the current request once the ones before it are answered.
    @exclusivity(unchecked) var continuePending = false

    // Requests in flight: slots[slotHead...], the first having sequence `headSequence`.
    @exclusivity(unchecked) var slots: [Slot] = []
    @exclusivity(unchecked) var slotHead = 0
    @exclusivity(unchecked) var headSequence: UInt64 = 0
    @exclusivity(unchecked) var nextSequence: UInt64 = 0

    // Output: bytes encoded and not yet sent are output[outputSent...].
    @exclusivity(unchecked) var output: [UInt8] = []
    @exclusivity(unchecked) var outputSent = 0
    /// Responses encoded into `output` since it was last all sent.
    @exclusivity(unchecked) var bufferedResponses = 0
    /// The unsent output passed `maxUnsentResponses` or `maxUnsentBytes`: take no new
    /// request, and read nothing, until it is all sent. Otherwise a client that pipelines
    /// requests and never reads the answers would make the output grow without bound.
    @exclusivity(unchecked) var outputBacklogged = false
    /// The socket accepts more bytes (cleared by EAGAIN, set by EPOLLOUT).
    @exclusivity(unchecked) var writable = true
    @exclusivity(unchecked) var lastWriteProgress: UInt64 = 0
    /// Close once the output is sent.
    @exclusivity(unchecked) var closeAfterOutput = false
    /// The close was asked for by the client, who therefore sends nothing more.
    @exclusivity(unchecked) var clientAskedToClose = false
    /// An error response was queued: the client may still be sending what we refused.
    @exclusivity(unchecked) var refusedInput = false

    /// When the connection last had nothing in flight and nothing received.
    @exclusivity(unchecked) var idleSince: UInt64
    /// Set once the connection shut down its sending side and only drains input (see `finish`).
    @exclusivity(unchecked) var lingeringSince: UInt64 = 0
    @exclusivity(unchecked) var isClosed = false
    /// Queued for `service()` after the loop's current batch of responses.
    @exclusivity(unchecked) var isDirty = false

    init(fd: Int32, serial: UInt32, peer: HTTPPeer, loop: EventLoop) {
        self.fd = fd
        self.serial = serial
        self.peer = peer
        self.loop = loop
        self.input = [UInt8](repeating: 0, count: min(4096, loop.limits.inputBufferLimit))
        self.idleSince = loop.now
    }

    var activeSlots: Int { slots.count - slotHead }
    var hasPendingOutput: Bool { outputSent < output.count }
    /// Whether another request may start now: the in-flight queue has room and the
    /// client is reading its answers.
    var mayStartRequest: Bool { activeSlots < loop.limits.maxPipelinedRequests && !outputBacklogged }

    /// Reacts to epoll readiness `events` for this socket.
    func handle(events: UInt32) {
        if events & (CSYS_EPOLLERR | CSYS_EPOLLHUP) != 0 {
            close()
            return
        }
        if events & CSYS_EPOLLIN != 0 { readable = true }
        if events & CSYS_EPOLLRDHUP != 0 { finReported = true }
        if events & CSYS_EPOLLOUT != 0 { writable = true }
        service()
    }

    /// Does all the work that can be done now: read and parse, dispatch, write, close.
    func service() {
        guard !isClosed else { return }
        if lingeringSince != 0 {
            drainLingering()
            return
        }
        repeat {
            receive()
            guard !isClosed else { return }
        } while sendReady() && !isClosed
        guard !isClosed, activeSlots == 0, !hasPendingOutput else { return }
        if closeAfterOutput || loop.isShuttingDown {
            finish()
        } else if inputClosed {
            close()
        }
    }

    /// Records the response to request `sequence`; a second answer or a stale one is ignored.
    func deliver(sequence: UInt64, response: HTTPResponse) {
        guard sequence >= headSequence else { return }
        let index = slotHead + Int(sequence - headSequence)
        guard index < slots.count, slots[index].response == nil else { return }
        slots[index].response = response
    }

    /// Applies the timeouts at `loop.now`: 408 for a slow head or body, a silent close
    /// when idle (or silent since it connected), an abort when the client stops reading,
    /// the end of a lingering close.
    func checkTimers() {
        let now = loop.now
        let limits = loop.limits
        if lingeringSince != 0 {
            if now &- lingeringSince > limits.lingerTimeout { close() }
            return
        }
        if hasPendingOutput && now &- lastWriteProgress > limits.writeTimeout {
            close()
            return
        }
        switch phase {
        case .head where headStartedAt != 0:
            if now &- headStartedAt > limits.headerTimeout {
                refuse(.headTimeout)
                service()
            }
        case .head:
            // Until its first request, a connection gets the head's time, not the idle
            // time: silent connections must not hold slots for long.
            let timeout = nextSequence == 0 ? limits.headerTimeout : limits.idleTimeout
            if activeSlots == 0 && !hasPendingOutput && now &- idleSince > timeout { close() }
        case .fixedBody, .chunkedBody:
            if now &- bodyStartedAt > limits.bodyTimeout {
                refuse(.bodyTimeout)
                service()
            }
        case .stopped:
            break
        }
    }

    /// The server is shutting down: read no more requests, answer those in flight (the
    /// last with `Connection: close`), and close; an idle connection closes at once.
    func beginShutdown() {
        if lingeringSince != 0 {
            close()
            return
        }
        phase = .stopped
        currentHead = nil
        continuePending = false
        if activeSlots > 0 {
            slots[slots.count - 1].close = true
        } else if hasPendingOutput {
            closeAfterOutput = true
        } else {
            close()
            return
        }
        service()
    }

    /// Closes the socket at once. The loop forgets the connection when it sees `isClosed`.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = csys_close(fd)
    }
}
