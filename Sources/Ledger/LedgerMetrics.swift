public import Events
import Synchronization

/// Counters the writer and verifications update, read by `/metrics`. Updated once per
/// batch (and once per verification), so the lock is cheap next to a commit.
public final class LedgerMetrics: Sendable {
    /// Upper bounds of the batch-size histogram.
    public static let batchBounds: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    /// Upper bounds of the commit-latency histogram, seconds.
    public static let commitBounds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]
    /// Bounds of a synced write's seconds: a device's, from a tenth of a millisecond.
    public static let writeBounds: [Double] = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1]

    /// A cumulative histogram in Prometheus' shape.
    public struct Histogram: Sendable {
        public var bounds: [Double]
        public var counts: [UInt64]
        public var sum: Double = 0
        public var count: UInt64 = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        mutating func observe(_ value: Double) {
            for i in bounds.indices where value <= bounds[i] { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    /// A copy of every counter (the decision counts are read under a lock of their own).
    public struct Snapshot: Sendable {
        public var batchSizes = Histogram(bounds: LedgerMetrics.batchBounds)
        public var commitSeconds = Histogram(bounds: LedgerMetrics.commitBounds)
        public var failedBatches: UInt64 = 0
        /// LMDB commits of journal generations, how long each took, and those that failed.
        public var logCommitSeconds = Histogram(bounds: LedgerMetrics.commitBounds)
        public var failedLogCommits: UInt64 = 0
        /// How long each batch's synced write of the journal took.
        public var journalWriteSeconds = Histogram(bounds: LedgerMetrics.writeBounds)
        public var verifyDecisions: [VerifyCode: UInt64] = [:]
    }

    private let state = Mutex(Snapshot())
    /// Decisions by code (its raw value the index), apart from the rest: a verification
    /// counts one with no hashing.
    private let decisions = Mutex([UInt64](repeating: 0, count: VerifyCode.allCases.count))

    public init() {}

    public var snapshot: Snapshot {
        var snapshot = state.withLock { $0 }
        let counts = decisions.withLock { $0 }
        for code in VerifyCode.allCases where counts[Int(code.rawValue)] > 0 {
            snapshot.verifyDecisions[code] = counts[Int(code.rawValue)]
        }
        return snapshot
    }

    func recordBatch(size: Int, nanos: UInt64, failed: Bool) {
        state.withLock { s in
            s.batchSizes.observe(Double(size))
            s.commitSeconds.observe(Double(nanos) / 1e9)
            if failed { s.failedBatches += 1 }
        }
    }

    func recordLogCommit(nanos: UInt64, failed: Bool) {
        state.withLock { s in
            if failed { s.failedLogCommits += 1 } else { s.logCommitSeconds.observe(Double(nanos) / 1e9) }
        }
    }

    func recordJournalWrite(nanos: UInt64) {
        state.withLock { $0.journalWriteSeconds.observe(Double(nanos) / 1e9) }
    }

    func recordDecision(_ code: VerifyCode) {
        decisions.withLock { $0[Int(code.rawValue)] += 1 }
    }
}
