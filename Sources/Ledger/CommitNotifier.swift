/// Tells waiting readers that the log grew: the writer raises the head after each
/// durable commit; long-polls wait for it to pass theirs.
final class CommitNotifier: @unchecked Sendable {
    // Safe to share: `head` is only read and written with `condition` locked.
    private let condition = Condition()
    private var head: UInt64 = 0

    func advance(to seq: UInt64) {
        condition.lock()
        if seq > head { head = seq }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the head passes `seq` or `deadline` comes; true when it passed.
    func wait(above seq: UInt64, until deadline: MonotonicTime) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while head <= seq {
            if !condition.wait(until: deadline) { return head > seq }
        }
        return true
    }
}
