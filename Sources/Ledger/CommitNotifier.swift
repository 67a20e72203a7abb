import Dispatch

/// Tells long-polls that the log grew, without a thread per long-poll: each one registers
/// a waiter (the seq it waits to see passed, a deadline and a callback), and one thread
/// fires every waiter whose seq the head passed or whose deadline came.
///
/// The writer raises the head after each durable commit. Commits of another process (a
/// server on a ledger opened read-only) are seen by reading the log's head every half
/// second while anyone waits.
final class CommitNotifier: @unchecked Sendable {
    // Safe to share: every stored var is only read and written with `condition` locked;
    // `readHead` is Sendable and `maxWaiters` immutable.
    private struct Waiter {
        var above: UInt64
        var deadline: MonotonicTime
        var fire: @Sendable (_ passed: Bool) -> Void
    }

    private let condition = Condition()
    private var head: UInt64 = 0
    private var waiters: [Waiter] = []
    private var running = false
    private var stopping = false
    private let readHead: @Sendable () -> UInt64?
    /// Waiters at most; ``wait(above:until:then:)`` refuses more.
    let maxWaiters: Int

    /// - Parameters:
    ///   - maxWaiters: long-polls that may wait at once.
    ///   - readHead: the log's head seq, read in a transaction of its own (nil on failure).
    init(maxWaiters: Int, readHead: @escaping @Sendable () -> UInt64?) {
        self.maxWaiters = maxWaiters
        self.readHead = readHead
    }

    func advance(to seq: UInt64) {
        condition.lock()
        if seq > head { head = seq }
        if !waiters.isEmpty { condition.signal() }
        condition.unlock()
    }

    /// Long-polls waiting now.
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiters.count
    }

    /// Calls `fire` once, on the notifier's thread, when the head passes `seq` (true) or
    /// `deadline` comes (false); `fire` must not block. Returns false, and never calls
    /// `fire`, when ``maxWaiters`` wait already or the ledger is closing.
    func wait(above seq: UInt64, until deadline: MonotonicTime, then fire: @escaping @Sendable (Bool) -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard waiters.count < maxWaiters, !stopping else { return false }
        waiters.append(Waiter(above: seq, deadline: deadline, fire: fire))
        if !running {
            running = true
            // One serial queue: its block holds one thread while any waiter has ever waited.
            DispatchQueue(label: "keyledger-long-polls").async { self.run() }
        }
        condition.signal()
        return true
    }

    /// Fires every waiter (as timed out unless the head passed its seq) and ends the
    /// thread. Returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        var nextPoll = MonotonicTime.now().adding(seconds: 0.5)
        while true {
            var now = MonotonicTime.now()
            if !waiters.isEmpty, now >= nextPoll {
                condition.unlock()
                let seen = readHead()
                condition.lock()
                if let seen, seen > head { head = seen }
                now = MonotonicTime.now()
                nextPoll = now.adding(seconds: 0.5)
            }
            let head = self.head
            let due = stopping ? waiters : waiters.filter { head > $0.above || $0.deadline <= now }
            if !due.isEmpty {
                waiters.removeAll { stopping || head > $0.above || $0.deadline <= now }
                condition.unlock()
                for waiter in due { waiter.fire(head > waiter.above) }
                condition.lock()
                continue
            }
            if stopping {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            if let earliest = waiters.map(\.deadline).min() {
                _ = condition.wait(until: min(earliest, nextPoll))
            } else {
                condition.wait()
                nextPoll = MonotonicTime.now().adding(seconds: 0.5)
            }
        }
    }
}
