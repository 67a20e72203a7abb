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
    /// Stop accepting, finish in-flight requests, close connections as they go idle.
    case beginShutdown
    /// Close every connection now and leave the loop (the shutdown grace ran out).
    case stop
}

/// The inbox of one event loop, the only part of a loop other threads touch: a
/// Mutex-protected queue plus an eventfd that wakes the loop from `epoll_wait`.
///
/// The eventfd is written once per batch (when the queue goes from drained to
/// non-empty), and never for messages posted by the loop's own thread, which drains the
/// queue before it waits again.
final class Mailbox: Sendable {
    private struct Queue {
        var messages: [LoopMessage] = []
        /// The eventfd was written since the last `take`.
        var signalled = false
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
            if fromLoop || queue.signalled { return false }
            queue.signalled = true
            return true
        }
        if wake { _ = csys_eventfd_signal(wakeFD) }
    }

    /// Moves every queued message into `batch`, which must be empty. Loop thread only.
    func take(into batch: inout [LoopMessage]) {
        queue.withLock { queue in
            swap(&queue.messages, &batch)
            queue.signalled = false
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
