import Glibc

/// A mutex and its condition variable, with waits timed on the monotonic clock.
///
/// POSIX threads rather than Foundation's `NSCondition`, so the binary loads no
/// Foundation (whose libraries cost every CLI run ~15 ms of dynamic linking).
final class Condition: @unchecked Sendable {
    // Safe to share: the pthread objects are made for use from many threads, and
    // live (at fixed addresses) as long as this object.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits, the lock held, until signalled (or woken spuriously).
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits, the lock held, until signalled or `deadline` passes; false when it passed.
    func wait(until deadline: MonotonicTime) -> Bool {
        var time = timespec(
            tv_sec: Int(deadline.nanoseconds / 1_000_000_000), tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }
}

/// A moment on the monotonic clock (`CLOCK_MONOTONIC`), which never jumps.
struct MonotonicTime: Comparable, Sendable {
    let nanoseconds: UInt64

    static func now() -> MonotonicTime {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicTime(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// This moment plus `seconds` (clamped at zero).
    func adding(seconds: Double) -> MonotonicTime {
        MonotonicTime(nanoseconds: nanoseconds + UInt64(max(0, seconds) * 1e9))
    }

    static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.nanoseconds < b.nanoseconds }
}
