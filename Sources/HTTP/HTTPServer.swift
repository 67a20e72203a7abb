internal import CSystem
import Dispatch
internal import Glibc
import Synchronization

/// An HTTP/1.1 server on TCP and Unix sockets that hands each request to a responder.
///
/// Lifecycle: `bindTCP`/`bindUnix` one or more times, `start()` once, later
/// `shutdown()`; `waitUntilStopped()` blocks until the event loops have exited. All
/// methods are thread-safe. The server knows nothing of routes: it parses, enforces
/// limits and timeouts, keeps connections alive, and writes responses in request order.
public final class HTTPServer: Sendable {
    private enum Phase {
        case configuring
        case running
        case stopping
        case stopped
    }

    private struct State {
        var phase = Phase.configuring
        /// Bound and not yet handed to the loops.
        var listeners: [Listener] = []
        /// One per running event loop.
        var mailboxes: [Mailbox] = []
    }

    private static let backlog: Int32 = 4096

    private let shared: ServerShared
    private let state = Mutex(State())

    /// A server that will answer with `responder`. Nothing is bound or started yet.
    /// Limits and counts of the configuration below 1 (`maxPipelinedRequests`,
    /// `maxUnsentResponses`, `maxUnsentBytes`, `eventLoops`, the connection caps) count as 1.
    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) {
        shared = ServerShared(configuration: configuration, responder: responder)
    }

    /// Releasing a server that was never started closes its listeners; releasing a
    /// running one begins a shutdown without waiting for it (prefer calling `shutdown()`).
    deinit {
        state.withLock { state in
            switch state.phase {
            case .configuring:
                for listener in state.listeners { listener.close() }
            case .running:
                for mailbox in state.mailboxes { mailbox.post(.beginShutdown) }
            case .stopping, .stopped:
                break
            }
        }
    }

    /// Listens on a TCP address.
    ///
    /// - Parameters:
    ///   - host: a numeric IPv4 or IPv6 address (`"127.0.0.1"`, `"::1"`, `"[::1]"`,
    ///     `"0.0.0.0"`); host names are not resolved.
    ///   - port: the port, or 0 for one the kernel picks.
    /// - Returns: the bound port.
    /// - Throws: `HTTPServerError` when the address is not numeric, the bind fails (e.g.
    ///   `EADDRINUSE`), or the server was already started.
    public func bindTCP(host: String, port: UInt16) throws -> UInt16 {
        try checkConfiguring()
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var bound: UInt16 = 0
        let fd = csys_listen_tcp(literal, port, Self.backlog, &bound)
        if fd == CSYS_INVALID_ADDRESS { throw HTTPServerError.invalidAddress(host) }
        guard fd >= 0 else { throw HTTPServerError.system("listen on \(host) port \(port)") }
        try add(Listener(fd: fd, socketFile: nil))
        return bound
    }

    /// Listens on a Unix socket at `path`, created with mode 0600 (owner only).
    ///
    /// A stale socket file at `path` (one nobody accepts on) is replaced. The file is
    /// removed again at shutdown if it is still this server's.
    ///
    /// - Throws: `HTTPServerError`: `EADDRINUSE` when a live server listens at `path`,
    ///   `EEXIST` when `path` is some other kind of file, `ENAMETOOLONG` past 107 bytes,
    ///   or the server was already started.
    public func bindUnix(path: String) throws {
        try checkConfiguring()
        let fd = csys_listen_unix(path, Self.backlog)
        guard fd >= 0 else { throw HTTPServerError.system("listen on \(path)") }
        var status = stat()
        guard lstat(path, &status) == 0 else {
            let error = HTTPServerError.system("stat \(path)")
            _ = csys_close(fd)
            throw error
        }
        let file = Listener.SocketFile(path: path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        try add(Listener(fd: fd, socketFile: file))
    }

    /// Starts the event-loop threads and returns at once.
    ///
    /// - Throws: `HTTPServerError` when nothing is bound, the server was started before,
    ///   or a loop's epoll, eventfd or thread cannot be created.
    public func start() throws {
        try state.withLock { state throws(HTTPServerError) in
            guard case .configuring = state.phase else { throw .alreadyStarted }
            guard !state.listeners.isEmpty else { throw .nothingBound }
            let count = max(shared.configuration.eventLoops, 1)
            var prepared: [(epoll: Int32, mailbox: Mailbox)] = []
            do throws(HTTPServerError) {
                for _ in 0..<count {
                    let mailbox = try Mailbox()
                    prepared.append((try EventLoop.prepare(mailbox: mailbox, listeners: state.listeners), mailbox))
                }
            } catch {
                for loop in prepared { _ = csys_close(loop.epoll) }
                throw error
            }
            let listeners = ListenerSet(state.listeners, holders: count)
            var started: [Mailbox] = []
            for (index, (epoll, mailbox)) in prepared.enumerated() {
                let shared = self.shared
                let work = index == 0 ? shared.configuration.loopWork : nil
                shared.running.enter()
                do {
                    let nice = shared.configuration.loopNice
                    try LoopThread.start {
                        if nice != 0 { _ = csys_set_thread_nice(nice) }
                        EventLoop(epoll: epoll, mailbox: mailbox, shared: shared, listeners: listeners, work: work).run()
                        shared.running.leave()
                    }
                    started.append(mailbox)
                } catch {
                    shared.running.leave()
                    _ = csys_close(epoll)
                    listeners.release()
                }
            }
            // The listeners now belong to the loops (or were closed by the failed ones).
            state.listeners = []
            guard !started.isEmpty else {
                state.phase = .stopped
                throw .system("pthread_create")
            }
            state.phase = .running
            state.mailboxes = started
        }
    }

    /// Stops gracefully and returns when done.
    ///
    /// Stops accepting (new connections are refused), closes idle connections, lets the
    /// requests in flight be answered (their last response carries `Connection: close`)
    /// and closes each connection once its responses are written. Returns when every
    /// connection is closed and the loops have exited, or when `shutdownGrace` has
    /// passed, in which case the remaining connections are closed at once first.
    ///
    /// Call it from any thread, e.g. one that waits for SIGTERM, but not from a signal
    /// handler (it blocks). Called on an event-loop thread (from a responder) it starts
    /// the shutdown and returns without waiting. Calling it again waits for the first.
    public func shutdown() {
        enum Action {
            case none
            case begin([Mailbox], [Listener])
            case wait
        }
        let action = state.withLock { state -> Action in
            switch state.phase {
            case .configuring:
                state.phase = .stopped
                let listeners = state.listeners
                state.listeners = []
                return .begin([], listeners)
            case .running:
                state.phase = .stopping
                return .begin(state.mailboxes, [])
            case .stopping:
                return .wait
            case .stopped:
                return .none
            }
        }
        switch action {
        case .none:
            return
        case .wait:
            if !isLoopThread { shared.running.wait() }
        case .begin(let mailboxes, let unstartedListeners):
            for listener in unstartedListeners { listener.close() }
            for mailbox in mailboxes { mailbox.post(.beginShutdown) }
            guard !mailboxes.contains(where: \.isLoopThread) else { return }
            let grace = DispatchTime.now() + .nanoseconds(Int(shared.configuration.shutdownGrace.nanoseconds))
            if shared.running.wait(timeout: grace) == .timedOut {
                for mailbox in mailboxes { mailbox.post(.stop) }
                shared.running.wait()
            }
            state.withLock { $0.phase = .stopped }
        }
    }

    /// Blocks until the event loops have exited after `shutdown()`; returns at once if
    /// the server was never started. Do not call it on an event-loop thread.
    public func waitUntilStopped() {
        shared.running.wait()
    }

    /// Connections open right now, TCP and Unix socket, across all loops (including ones
    /// being closed).
    public var openConnectionCount: Int {
        shared.connections.total
    }

    private var isLoopThread: Bool {
        state.withLock { state in state.mailboxes.contains(where: \.isLoopThread) }
    }

    private func checkConfiguring() throws(HTTPServerError) {
        try state.withLock { state throws(HTTPServerError) in
            guard case .configuring = state.phase else { throw .alreadyStarted }
        }
    }

    private func add(_ listener: Listener) throws(HTTPServerError) {
        try state.withLock { state throws(HTTPServerError) in
            guard case .configuring = state.phase else {
                listener.close()
                throw .alreadyStarted
            }
            state.listeners.append(listener)
        }
    }
}
