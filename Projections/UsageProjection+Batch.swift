public import Events
public import Store

/// The live fold of a run of events: each minute and hour row the run touches is read,
/// merged and written once, in key order, and merged as encoded bytes (no histogram
/// decoded into buckets and encoded back per event).
extension UsageProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        var minuteAccesses: [PendingAccess] = []
        var hourAccesses: [PendingAccess] = []
        for event in events {
            guard case .accessed(let access) = event.payload else { continue }
            let latency = access.latencyMicros
            let isError = access.code != .valid
            let id = event.keyID
            minuteAccesses.append(
                PendingAccess(
                    unit: Self.floorDivide(event.time, Self.minuteMicros), high: id.high, low: id.low,
                    latency: latency, isError: isError))
            hourAccesses.append(
                PendingAccess(
                    unit: Self.floorDivide(event.time, Self.hourMicros), high: id.high, low: id.low,
                    latency: latency, isError: isError))
        }
        guard !minuteAccesses.isEmpty else { return }
        var scratch = RowScratch()
        try scratch.write(&minuteAccesses, into: minutes, txn)
        try scratch.write(&hourAccesses, into: hours, txn)
    }

    /// One access of a run, by the row it counts in (a minute or an hour, then the id).
    struct PendingAccess {
        var unit: Int64
        var high: UInt64
        var low: UInt64
        var latency: UInt32
        var isError: Bool

        /// Row key order (the unit, then the id), then latency, so each row's latencies
        /// come sorted.
        static func precedes(_ a: PendingAccess, _ b: PendingAccess) -> Bool {
            if a.unit != b.unit { return a.unit < b.unit }
            if a.high != b.high { return a.high < b.high }
            if a.low != b.low { return a.low < b.low }
            return a.latency < b.latency
        }

        func sameRow(_ other: PendingAccess) -> Bool { unit == other.unit && high == other.high && low == other.low }
    }

    /// Buffers reused across the rows of a run.
    struct RowScratch {
        var latencies: [UInt32] = []
        var writer = BinaryWriter(capacity: 256)
        var buckets: [(index: Int, count: UInt64)] = []
        var merged: [(index: Int, count: UInt64)] = []

        /// Merges each row's accesses into its row of `table` (created when missing).
        mutating func write(_ accesses: inout [PendingAccess], into table: Table, _ txn: borrowing Transaction) throws {
            accesses.sort(by: PendingAccess.precedes)
            try txn.withCursor(table) { (cursor) throws in
                var start = 0
                while start < accesses.count {
                    let first = accesses[start]
                    var end = start
                    var errors: UInt64 = 0
                    latencies.removeAll(keepingCapacity: true)
                    while end < accesses.count, accesses[end].sameRow(first) {
                        latencies.append(accesses[end].latency)
                        if accesses[end].isError { errors += 1 }
                        end += 1
                    }
                    var key: (UInt64, UInt64, UInt64) = (0, 0, 0)
                    withUnsafeMutableBytes(of: &key) {
                        MinuteRow(KeyID(high: first.high, low: first.low), minute: first.unit).writeKey(into: $0)
                    }
                    try withUnsafeBytes(of: key) { (k) throws in try write(k, errors: errors, &cursor) }
                    start = end
                }
            }
        }

        /// Writes the row `key`: ``latencies`` (ascending) and `errors` merged into what
        /// the table holds.
        private mutating func write(_ key: UnsafeRawBufferPointer, errors: UInt64, _ cursor: inout Cursor) throws {
            writer.reset()
            if let old = try cursor.seek(exactly: key) {
                try latencies.withUnsafeBufferPointer { (sorted) throws(EventDecodingError) in
                    try merge(old, sorted, errors: errors)
                }
                try writer.bytes.withUnsafeBytes { (v) throws in try cursor.replaceCurrent(key, v) }
            } else {
                latencies.withUnsafeBufferPointer { UsageMetrics.encode(sorted: $0, errors: errors, into: &writer) }
                try writer.bytes.withUnsafeBytes { (v) throws in try cursor.put(key, v) }
            }
        }

        /// Writes into ``writer`` the row ``UsageMetrics`` would encode after decoding
        /// `row` and recording `sorted` (`errors` of them not VALID): the same bytes,
        /// from the row's buckets as they are encoded. A row that does not read as a
        /// valid one goes through the decoder, which says what is wrong with it.
        mutating func merge(_ row: UnsafeRawBufferPointer, _ sorted: UnsafeBufferPointer<UInt32>, errors: UInt64)
            throws(EventDecodingError)
        {
            guard let stored = readBuckets(row) else {
                var metrics = try UsageMetrics(decoding: row)
                // Which accesses were errors does not show in a row: only how many.
                for (j, latency) in sorted.enumerated() { metrics.record(latency, isError: UInt64(j) < errors) }
                metrics.encode(into: &writer)
                return
            }
            merged.removeAll(keepingCapacity: true)
            var b = 0
            var i = sorted.startIndex
            while i < sorted.endIndex || b < buckets.count {
                let next = i < sorted.endIndex ? LatencyHistogram.index(of: sorted[i]) : Int.max
                if b < buckets.count, buckets[b].index < next {
                    merged.append(buckets[b])
                    b += 1
                    continue
                }
                var count: UInt64 = 0
                while i < sorted.endIndex, LatencyHistogram.index(of: sorted[i]) == next {
                    count += 1
                    i += 1
                }
                if b < buckets.count, buckets[b].index == next {
                    count += buckets[b].count
                    b += 1
                }
                merged.append((next, count))
            }
            writer.u8(UsageMetrics.formatVersion)
            writer.varint(stored.requests + UInt64(sorted.count))
            writer.varint(stored.errors + errors)
            writer.varint(UInt64(max(stored.max, sorted.last ?? 0)))
            writer.varint(UInt64(merged.count))
            var nextIndex = 0
            for bucket in merged {
                writer.varint(UInt64(bucket.index - nextIndex))
                writer.varint(bucket.count)
                nextIndex = bucket.index + 1
            }
        }

        /// Reads a row into ``buckets`` with every check ``UsageMetrics/init(decoding:)``
        /// makes; nil when one fails.
        private mutating func readBuckets(_ row: UnsafeRawBufferPointer) -> (
            requests: UInt64, errors: UInt64, max: UInt32
        )? {
            buckets.removeAll(keepingCapacity: true)
            var r = BinaryReader(row)
            do {
                guard try r.u8() == UsageMetrics.formatVersion else { return nil }
                let requests = try r.varint()
                let errors = try r.varint()
                guard let max = UInt32(exactly: try r.varint()) else { return nil }
                let count = try r.count(limit: LatencyHistogram.bucketCount)
                let top = LatencyHistogram.index(of: max)
                var next = 0
                var total: UInt64 = 0
                for _ in 0..<count {
                    let gap = try r.varint()
                    guard next <= top, gap <= UInt64(top - next) else { return nil }
                    let n = try r.varint()
                    let (sum, overflow) = total.addingReportingOverflow(n)
                    guard n > 0, !overflow else { return nil }
                    total = sum
                    buckets.append((next + Int(gap), n))
                    next += Int(gap) + 1
                }
                guard count > 0 ? buckets[count - 1].index == top : max == 0 else { return nil }
                guard r.isAtEnd, errors <= requests, total == requests else { return nil }
                return (requests, errors, max)
            } catch {
                return nil
            }
        }
    }
}
