internal import CSystem
internal import Glibc

/// One event-loop thread: an epoll instance watching the listeners, its mailbox's
/// eventfd and its connections (edge-triggered), plus a periodic sweep for timeouts.
///
/// Created and run on its own thread, and touched only there; other threads reach it
/// through `mailbox`. The state each request touches goes without the runtime's
/// exclusivity checks (`@exclusivity(unchecked)`), as in `Connection`.
final class EventLoop {
    let mailbox: Mailbox
    let limits: ConnectionLimits
    let responder: any HTTPResponder
    let errorResponse: @Sendable (HTTPProtocolError) -> HTTPResponse
    /// Monotonic time, read once per turn of the loop.
    private(set) var now: UInt64
    @exclusivity(unchecked) var date = HTTPDate()
    private(set) var isShuttingDown = false

    let epoll: Int32
    let shared: ServerShared
    private let listeners: ListenerSet
    var watchingListeners = true
    /// This loop has not yet done its `listeners.release()`.
    private var holdsListeners = true
    var acceptResumeAt: UInt64 = 0
    /// Connections by socket descriptor.
    @exclusivity(unchecked) var connections: [Connection?] = []
    var liveConnections = 0
    var nextSerial: UInt32 = 1
    var nextSweep: UInt64
    private var stopRequested = false
    @exclusivity(unchecked) private var messages: [LoopMessage] = []
    @exclusivity(unchecked) private var dirty: [Connection] = []
    var peerAddress = [CChar](repeating: 0, count: Int(CSYS_ADDRESS_LENGTH))

    private static let eventCapacity = 256
    /// ``HTTPServerConfiguration/loopWork``, on the first loop only.
    private let work: (any LoopWork)?

    /// - Parameters:
    ///   - epoll: an epoll instance already watching `mailbox.wakeFD` and the listeners
    ///     (see `EventLoop.prepare`); the loop closes it when it stops.
    init(
        epoll: Int32, mailbox: Mailbox, shared: ServerShared, listeners: ListenerSet, work: (any LoopWork)? = nil
    ) {
        self.work = work
        self.epoll = epoll
        self.mailbox = mailbox
        self.shared = shared
        self.listeners = listeners
        self.limits = shared.limits
        self.responder = shared.responder
        self.errorResponse = shared.configuration.errorResponse
        self.now = csys_monotonic_nanos()
        self.nextSweep = now + limits.sweepInterval
    }

    /// Makes an epoll instance watching `mailbox` and `listeners`, for a loop to run on.
    static func prepare(mailbox: Mailbox, listeners: [Listener]) throws(HTTPServerError) -> Int32 {
        let epoll = csys_epoll_create()
        guard epoll >= 0 else { throw .system("epoll_create1") }
        guard csys_epoll_ctl(epoll, CSYS_EPOLL_CTL_ADD, mailbox.wakeFD, CSYS_EPOLLIN, token(fd: mailbox.wakeFD)) == 0
        else {
            let error = HTTPServerError.system("epoll_ctl")
            _ = csys_close(epoll)
            throw error
        }
        for listener in listeners where !watch(listener, epoll: epoll) {
            let error = HTTPServerError.system("epoll_ctl")
            _ = csys_close(epoll)
            throw error
        }
        return epoll
    }

    /// Runs until shutdown has closed every connection or `stop` arrives.
    func run() {
        mailbox.adoptCurrentThread()
        _ = csys_set_thread_name("http-loop")
        let events = UnsafeMutablePointer<csys_epoll_event>.allocate(capacity: Self.eventCapacity)
        if let work {
            let mailbox = self.mailbox
            work.attach(wake: { mailbox.wake() })
        }
        defer {
            work?.detach()
            events.deallocate()
            for case let connection? in connections { forget(connection, closing: true) }
            releaseListeners()
            mailbox.close()
            _ = csys_close(epoll)
        }
        while true {
            // The work's due time is asked last: whatever this turn queued for it counts.
            let sweepIn = nextSweep > now ? min(nextSweep - now, 1_000_000_000) : 0
            let wait = min(sweepIn, work?.dueIn() ?? .max)
            let count = csys_epoll_wait(epoll, events, Int32(Self.eventCapacity), Int64(wait))
            now = csys_monotonic_nanos()
            for index in 0..<Int(max(count, 0)) {
                dispatch(events[index])
            }
            if now >= nextSweep { sweep() }
            work?.runDue()
            drainMailbox()
            if stopRequested || (isShuttingDown && liveConnections == 0) { return }
        }
    }

    /// The epoll token of a listener or the eventfd (serial 0) or of a connection.
    static func token(fd: Int32, serial: UInt32 = 0) -> UInt64 {
        UInt64(serial) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    private static func watch(_ listener: Listener, epoll: Int32) -> Bool {
        csys_epoll_ctl(
            epoll, CSYS_EPOLL_CTL_ADD, listener.fd, CSYS_EPOLLIN | CSYS_EPOLLEXCLUSIVE, token(fd: listener.fd))
            == 0
    }

    private func dispatch(_ event: csys_epoll_event) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data))
        let serial = UInt32(truncatingIfNeeded: event.data >> 32)
        if serial == 0 {
            if fd == mailbox.wakeFD {
                _ = csys_eventfd_drain(fd)
            } else if let listener = listeners.listener(fd: fd), watchingListeners {
                accept(from: listener)
            }
            return
        }
        guard Int(fd) < connections.count, let connection = connections[Int(fd)], connection.serial == serial else {
            return
        }
        connection.handle(events: event.events)
        if connection.isClosed { forget(connection) }
    }

    /// Drains the mailbox, delivering responses and writing them out once per batch.
    private func drainMailbox() {
        while true {
            mailbox.take(into: &messages)
            if messages.isEmpty { return }
            for message in messages {
                switch message {
                case .response(let address, let response):
                    guard let connection = connection(at: address) else { continue }
                    connection.deliver(sequence: address.sequence, response: response)
                    markDirty(connection)
                case .deferred(let address, let deferred):
                    guard let connection = connection(at: address) else { continue }
                    connection.deliver(sequence: address.sequence, response: deferred.render())
                    markDirty(connection)
                case .beginShutdown:
                    beginShutdown()
                case .stop:
                    stopRequested = true
                }
            }
            messages.removeAll(keepingCapacity: true)
            for connection in dirty {
                connection.isDirty = false
                connection.service()
                if connection.isClosed { forget(connection) }
            }
            dirty.removeAll(keepingCapacity: true)
        }
    }

    /// The connection a response is addressed to, if it is still open.
    private func connection(at address: ResponseAddress) -> Connection? {
        guard Int(address.fd) < connections.count, let connection = connections[Int(address.fd)],
            connection.serial == address.serial
        else { return nil }
        return connection
    }

    /// Queues `connection` for `service()` after the current batch of responses.
    private func markDirty(_ connection: Connection) {
        guard !connection.isDirty else { return }
        connection.isDirty = true
        dirty.append(connection)
    }

    /// Checks every connection's timers, and resumes accepting after a descriptor shortage.
    private func sweep() {
        nextSweep = now + limits.sweepInterval
        for case let connection? in connections {
            connection.checkTimers()
            if connection.isClosed { forget(connection) }
        }
        if !watchingListeners && acceptResumeAt != 0 && now >= acceptResumeAt && !isShuttingDown {
            acceptResumeAt = 0
            watchingListeners = listeners.listeners.allSatisfy { Self.watch($0, epoll: epoll) }
        }
    }

    private func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        unwatchListeners()
        releaseListeners()
        for case let connection? in connections {
            connection.beginShutdown()
            if connection.isClosed { forget(connection) }
        }
    }

    private func releaseListeners() {
        guard holdsListeners else { return }
        holdsListeners = false
        listeners.release()
    }

    func unwatchListeners() {
        guard watchingListeners else { return }
        watchingListeners = false
        for listener in listeners.listeners {
            _ = csys_epoll_ctl(epoll, CSYS_EPOLL_CTL_DEL, listener.fd, 0, 0)
        }
    }

    /// Removes a connection from the table, closing it first if asked.
    private func forget(_ connection: Connection, closing: Bool = false) {
        let index = Int(connection.fd)
        guard index < connections.count, connections[index] === connection else { return }
        if closing { connection.close() }
        connections[index] = nil
        liveConnections -= 1
        shared.connections.release(connection.peer)
    }
}
