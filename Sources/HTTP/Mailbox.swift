internal import CSystem
internal import Glibc
import Synchronization

/// Where a response goes back to: one request on one connection of one event loop.
struct ResponseAddress: Sendable {
    /// The connection's socket.
    var fd: Int32
    /// Tells this connection from a later one that reuses the same descriptor.
    var serial: UInt32
    /// The request's position among the connection's requests, from 0.
    var sequence: UInt64
}

/// What other threads tell an event loop.
enum LoopMessage: Sendable {
    /// A responder's answer to one request.
    case response(ResponseAddress, HTTPResponse)
    /// A responder's answer to one request, to be rendered on the loop's thread.
    case deferred(ResponseAddress, any HTTPDeferredResponse)
    /// Stop accepting, finish in-flight requests, close connections as they go idle.
    case beginShutdown
    /// Close every connection now and leave the loop (the shutdown grace ran out).
    case stop
}

/// The inbox of one event loop, the only part of a loop other threads touch: a
/// Mutex-protected queue plus an eventfd that wakes the loop from `epoll_wait`.
///
/// The eventfd is written only to wake a loop that found the queue empty and went (or is
/// about to go) to sleep in `epoll_wait`, once per sleep: messages posted while the loop
/// works, or from its own thread, wake nothing, because it drains the queue before it
/// waits again. A writer that answers a batch of requests while the loop is busy sending
/// the previous answers thus costs the loop no wake-up at all.
final class Mailbox: Sendable {
    private struct Queue {
        var messages: [LoopMessage] = []
        /// The loop's last `take` found nothing: it sleeps, or is about to, until the
        /// eventfd is written. Cleared by whoever writes it, and by the next `take`.
        var sleeping = true
        /// The loop has ended: messages are dropped.
        var closed = false
    }

    /// The eventfd: readable while messages wait. Lives as long as the mailbox, so a late
    /// `post` never writes to a descriptor number that was reused.
    let wakeFD: Int32
    private let queue = Mutex(Queue())
    /// `pthread_self()` of the loop's thread once it runs; 0 before.
    private let owner = Atomic<UInt>(0)

    init() throws(HTTPServerError) {
        let fd = csys_eventfd()
        guard fd >= 0 else { throw .system("eventfd") }
        wakeFD = fd
    }

    deinit {
        _ = csys_close(wakeFD)
    }

    /// Queues `message` and wakes the loop if needed. Any thread.
    func post(_ message: LoopMessage) {
        let fromLoop = isLoopThread
        let wake = queue.withLock { queue in
            guard !queue.closed else { return false }
            queue.messages.append(message)
            guard queue.sleeping, !fromLoop else { return false }
            queue.sleeping = false
            return true
        }
        if wake { _ = csys_eventfd_signal(wakeFD) }
    }

    /// Wakes the loop from `epoll_wait` without a message (e.g. for its ``LoopWork``).
    /// Any thread but the loop's.
    func wake() { _ = csys_eventfd_signal(wakeFD) }

    /// Moves every queued message into `batch`, which must be empty. Loop thread only.
    ///
    /// Finding nothing means the loop is going to sleep: a `post` from another thread
    /// then writes the eventfd; until then posts only queue.
    func take(into batch: inout [LoopMessage]) {
        queue.withLock { queue in
            swap(&queue.messages, &batch)
            queue.sleeping = batch.isEmpty
        }
    }

    /// Drops queued messages and refuses new ones, e.g. responses that come after the
    /// loop ended. Loop thread only, as it ends.
    func close() {
        queue.withLock { queue in
            queue.closed = true
            queue.messages = []
        }
    }

    /// Marks the calling thread as the loop's. Called once, first thing on the loop thread.
    func adoptCurrentThread() {
        owner.store(pthread_self(), ordering: .releasing)
    }

    /// Whether the caller is this mailbox's loop thread.
    var isLoopThread: Bool {
        pthread_self() == owner.load(ordering: .acquiring)
    }
}
