public import Events

/// A mergeable log-linear histogram of latencies in µs (HDR-style).
///
/// Bucket layout: values 0 through 31 each have a bucket of their own (exact); above
/// that, every power-of-two range [2^k, 2^(k+1)) for k = 5...31 is split into 16 equal
/// sub-buckets of width 2^(k-4). That is 464 buckets covering the whole `UInt32` range
/// (0 µs to about 71 minutes). A bucket's width is at most 1/16 of its lower bound, so
/// the bucket's upper bound overstates any value in it by less than
/// ``maxRelativeError`` (6.25 %).
///
/// Value semantics; two histograms that recorded the same multiset of values, in any
/// order and through any merges, are equal and encode to the same bytes.
public struct LatencyHistogram: Sendable, Equatable {
    /// log2 of the sub-buckets per power-of-two range.
    static let subBucketBits = 4
    static let subBuckets = 1 << subBucketBits
    /// The buckets needed for `UInt32.max`.
    static let bucketCount = index(of: .max) + 1

    /// A bound on `(percentile(p) - exact) / exact` for every p: the reported value is
    /// never below the exact one and less than 1/16 above it.
    public static let maxRelativeError = 1.0 / Double(subBuckets)

    /// Counts per bucket, trimmed after the highest non-zero bucket (so equal contents
    /// compare equal).
    private(set) var counts: [UInt64] = []
    /// The number of values recorded.
    public private(set) var count: UInt64 = 0
    /// The largest value recorded, exactly; 0 when empty.
    public private(set) var max: UInt32 = 0

    /// An empty histogram.
    public init() {}

    /// Adds one latency.
    public mutating func record(_ micros: UInt32) {
        let index = Self.index(of: micros)
        if counts.count <= index { counts.append(contentsOf: repeatElement(0, count: index + 1 - counts.count)) }
        counts[index] += 1
        count += 1
        max = Swift.max(max, micros)
    }

    /// Adds every value `other` recorded.
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        if counts.count < other.counts.count {
            counts.append(contentsOf: repeatElement(0, count: other.counts.count - counts.count))
        }
        for index in other.counts.indices { counts[index] += other.counts[index] }
        count += other.count
        max = Swift.max(max, other.max)
    }

    /// The nearest-rank percentile: the upper bound of the bucket holding the
    /// `ceil(p / 100 × count)`-th smallest value (at least the first), clamped to ``max``.
    ///
    /// - Parameter p: the percentile, 0...100 (values outside are clamped; NaN reads as 0).
    /// - Returns: a value at least the exact percentile and less than
    ///   ``maxRelativeError`` above it; 0 when the histogram is empty.
    public func percentile(_ p: Double) -> UInt32 {
        guard count > 0 else { return 0 }
        let fraction = p.isNaN ? 0 : Swift.min(Swift.max(p, 0), 100) / 100
        let rank = Swift.min(Swift.max(UInt64((Double(count) * fraction).rounded(.up)), 1), count)
        var seen: UInt64 = 0
        for (index, n) in counts.enumerated() {
            seen += n
            if seen >= rank { return Swift.min(Self.upperBound(ofBucket: index), max) }
        }
        return max
    }

    /// Appends the histogram's deterministic encoding, all varints: the exact max, the
    /// number of non-zero buckets, then for each, in ascending order, the gap since the
    /// previous one and its count. Typical latencies encode in a few dozen bytes.
    public func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(max))
        counts.withUnsafeBufferPointer { counts in
            var buckets = 0
            for n in counts where n > 0 { buckets += 1 }
            writer.varint(UInt64(buckets))
            var next = 0
            for index in counts.indices where counts[index] > 0 {
                writer.varint(UInt64(index - next))
                writer.varint(counts[index])
                next = index + 1
            }
        }
    }

    /// Appends the encoding ``encode(into:)`` gives the histogram of `latencies`, without
    /// building it: a rebuild encodes millions of rows that mostly hold one value.
    ///
    /// - Precondition: `latencies` ascend.
    public static func encode(sorted latencies: UnsafeBufferPointer<UInt32>, into writer: inout BinaryWriter) {
        writer.varint(UInt64(latencies.last ?? 0))
        var buckets = 0
        var previous = -1
        for latency in latencies {
            let index = Self.index(of: latency)
            if index != previous { buckets += 1 }
            previous = index
        }
        writer.varint(UInt64(buckets))
        var next = 0
        var i = latencies.startIndex
        while i < latencies.endIndex {
            let index = Self.index(of: latencies[i])
            var count: UInt64 = 0
            while i < latencies.endIndex, Self.index(of: latencies[i]) == index {
                count += 1
                i += 1
            }
            writer.varint(UInt64(index - next))
            writer.varint(count)
            next = index + 1
        }
    }

    /// Reads a histogram written by ``encode(into:)``.
    ///
    /// - Throws: `EventDecodingError` on truncated input, a max past `UInt32`, a bucket
    ///   above the max's, a zero count, counts that overflow, or an empty max bucket.
    public init(reading reader: inout BinaryReader) throws(EventDecodingError) {
        guard let max = UInt32(exactly: try reader.varint()) else { throw reader.fail("histogram max out of range") }
        let buckets = try reader.count(limit: Self.bucketCount)
        guard buckets > 0 else {
            guard max == 0 else { throw reader.fail("histogram max without values") }
            return
        }
        // The max's bucket is the highest, so the counts are allocated once.
        counts = Array(repeating: 0, count: Self.index(of: max) + 1)
        var next: UInt64 = 0
        for _ in 0..<buckets {
            let gap = try reader.varint()
            guard gap < UInt64(counts.count) - next else { throw reader.fail("histogram bucket above the max") }
            let n = try reader.varint()
            guard n > 0 else { throw reader.fail("histogram bucket with a zero count") }
            let (total, overflow) = count.addingReportingOverflow(n)
            guard !overflow else { throw reader.fail("histogram counts overflow") }
            counts[Int(next + gap)] = n
            count = total
            next += gap + 1
        }
        guard counts[counts.count - 1] > 0 else { throw reader.fail("histogram max bucket is empty") }
        self.max = max
    }

    /// The bucket of `micros`: exact below 32, then 16 per power of two.
    static func index(of micros: UInt32) -> Int {
        let shift = Swift.max(0, micros.bitWidth - micros.leadingZeroBitCount - subBucketBits - 1)
        return (shift << subBucketBits) + Int(micros >> shift)
    }

    /// The largest value that falls into bucket `index`.
    static func upperBound(ofBucket index: Int) -> UInt32 {
        let shift = Swift.max(0, (index >> subBucketBits) - 1)
        let lower = UInt64(index - (shift << subBucketBits)) << shift
        return UInt32(lower + (1 << shift) - 1)
    }
}
