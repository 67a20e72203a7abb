internal import Glibc

/// Where the ledger gets the time: wall time for events, a monotonic clock for
/// latencies. Injected so tests control expiry and rate windows without sleeping.
public protocol LedgerClock: Sendable {
    /// µs since the Unix epoch.
    func now() -> Int64
    /// Nanoseconds of a clock that never goes back.
    func monotonicNanos() -> UInt64
}

/// The machine's clocks (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`).
public struct SystemClock: LedgerClock {
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    public func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
