public import Events
public import Store

/// A usage query spans more than ``UsageProjection/maxBucketCount`` buckets.
public struct UsageRangeTooLarge: Error, Sendable, Equatable, CustomStringConvertible {
    /// The buckets the range would need.
    public let bucketCount: Int

    public var description: String {
        "the range spans \(bucketCount) buckets; at most \(UsageProjection.maxBucketCount) are allowed: "
            + "narrow it or use a coarser granularity"
    }
}

extension UsageProjection {
    /// The most buckets one report may hold.
    public static let maxBucketCount = 10_000

    /// Times are clamped to ±2^62 µs (±146,000 years), so bucket arithmetic cannot
    /// overflow; no event lies outside.
    static let timeLimit: Int64 = 1 << 62

    static func clamped(_ time: Int64) -> Int64 { min(max(time, -timeLimit), timeLimit) }

    /// The number of buckets a report over `start..<end` holds: from the bucket holding
    /// `start` to the one holding `end` - 1 µs; 0 when `end <= start`.
    ///
    /// - Parameters:
    ///   - start: µs since the epoch, inclusive.
    ///   - end: µs since the epoch, exclusive.
    public static func bucketCount(start: Int64, end: Int64, granularity: UsageGranularity) -> Int {
        let (start, end) = (clamped(start), clamped(end))
        guard end > start else { return 0 }
        return Int(floorDivide(end - 1, granularity.micros) - floorDivide(start, granularity.micros) + 1)
    }

    /// The usage of `key` from the bucket holding `start` to the one holding `end` - 1 µs.
    ///
    /// Looks each of `key`'s rows in that span up by exact key (rows are keyed by time
    /// first), within the span the table holds rows for at all.
    ///
    /// - Parameters:
    ///   - key: the key; one with no usage (or that does not exist) gets zeros.
    ///   - start: µs since the epoch, inclusive; the first bucket starts at or before it.
    ///   - end: µs since the epoch, exclusive; no buckets when `end <= start`.
    ///   - granularity: the bucket width; buckets start on UTC boundaries.
    ///   - activeSince: when the key was created, if known: it has no rows before, so none
    ///     are looked up (a long report of a young key stays cheap).
    ///   - txn: any transaction; the report is a copy and outlives it.
    /// - Throws: ``UsageRangeTooLarge`` past ``maxBucketCount`` buckets (check with
    ///   ``bucketCount(start:end:granularity:)`` first); `EventDecodingError` on a corrupt
    ///   row; `LMDBError` from the store.
    public func usage(
        of key: KeyID, start: Int64, end: Int64, granularity: UsageGranularity, activeSince: Int64? = nil,
        in txn: borrowing Transaction
    ) throws -> UsageReport {
        let count = Self.bucketCount(start: start, end: end, granularity: granularity)
        guard count <= Self.maxBucketCount else { throw UsageRangeTooLarge(bucketCount: count) }
        let width = granularity.micros
        let first = Self.floorDivide(Self.clamped(start), width) * width
        let last = first + Int64(count) * width
        var buckets = (0..<Int64(count)).map { UsageBucket(start: first + $0 * width) }
        if count > 0 {
            // Every width is a whole number of the rows' unit (hour rows for hour and day
            // buckets, minute rows for minutes), so bucket edges are row edges.
            let unit = width % Self.hourMicros == 0 ? Self.hourMicros : Self.minuteMicros
            let table = unit == Self.hourMicros ? hours : minutes
            let span = try txn.withCursor(table) { cursor -> ClosedRange<Int64>? in
                guard let low = try cursor.first(), let high = try cursor.last() else { return nil }
                let first = max(MinuteRow.minute(ofKey: low.key), Self.floorDivide(activeSince ?? .min, unit))
                let last = MinuteRow.minute(ofKey: high.key)
                return first <= last ? first...last : nil
            }
            let rows = Self.floorDivide(first, unit)..<Self.floorDivide(last, unit)
            if let span, rows.overlaps(span) {
                var rowKey = [UInt8](repeating: 0, count: 24)
                for row in max(rows.lowerBound, span.lowerBound)...min(rows.upperBound - 1, span.upperBound) {
                    try rowKey.withUnsafeMutableBytes { (k) throws in
                        MinuteRow(key, minute: row).writeKey(into: k)
                        guard let value = try txn.get(table, UnsafeRawBufferPointer(k)) else { return }
                        buckets[Int((row * unit - first) / width)].metrics.merge(try UsageMetrics(decoding: value))
                    }
                }
            }
        }
        var totals = UsageMetrics()
        for bucket in buckets { totals.merge(bucket.metrics) }
        return UsageReport(
            keyID: key, granularity: granularity, start: first, end: last,
            buckets: buckets, totals: totals)
    }
}
