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
        /// A stored row's buckets as read (index and count), the first `bucketsRead`.
        var bucketIndexes = [Int](repeating: 0, count: LatencyHistogram.bucketCount)
        var bucketCounts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
        /// A merged row: room for the largest (every bucket, each varint at its longest).
        var out = [UInt8](repeating: 0, count: 16 + 10 * (4 + 2 * LatencyHistogram.bucketCount))

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
            if let old = try cursor.seek(exactly: key) {
                let length = latencies.withUnsafeBufferPointer { merge(old, $0, errors: errors) }
                if let length {
                    try out.withUnsafeBytes { (v) throws in
                        try cursor.replaceCurrent(key, UnsafeRawBufferPointer(rebasing: v[..<length]))
                    }
                    return
                }
                // Not a row as the fold writes them: the decoder says what is wrong.
                var metrics = try UsageMetrics(decoding: old)
                // Which accesses were errors does not show in a row: only how many.
                for (j, latency) in latencies.enumerated() { metrics.record(latency, isError: UInt64(j) < errors) }
                writer.reset()
                metrics.encode(into: &writer)
                try writer.bytes.withUnsafeBytes { (v) throws in try cursor.replaceCurrent(key, v) }
            } else {
                writer.reset()
                latencies.withUnsafeBufferPointer { UsageMetrics.encode(sorted: $0, errors: errors, into: &writer) }
                try writer.bytes.withUnsafeBytes { (v) throws in try cursor.put(key, v) }
            }
        }

        /// Writes into ``out`` the row ``UsageMetrics`` would encode after decoding `row`
        /// and recording `sorted` (`errors` of them not VALID): the same bytes, from the
        /// row's buckets as they are encoded. Returns its length; nil, writing nothing,
        /// when `row` fails a check ``UsageMetrics/init(decoding:)`` makes.
        mutating func merge(_ row: UnsafeRawBufferPointer, _ sorted: UnsafeBufferPointer<UInt32>, errors: UInt64)
            -> Int?
        {
            guard let stored = readBuckets(row) else { return nil }
            return bucketIndexes.withUnsafeBufferPointer { indexes in
                bucketCounts.withUnsafeBufferPointer { counts in
                    out.withUnsafeMutableBytes { out in
                        let base = out.baseAddress!
                        var n = 0
                        // The merged buckets: the stored ones and those of `sorted`.
                        var distinct = 0
                        var b = 0
                        var i = 0
                        while i < sorted.count || b < stored.buckets {
                            let next = i < sorted.count ? LatencyHistogram.index(of: sorted[i]) : Int.max
                            if b < stored.buckets, indexes[b] < next {
                                b += 1
                            } else {
                                while i < sorted.count, LatencyHistogram.index(of: sorted[i]) == next { i += 1 }
                                if b < stored.buckets, indexes[b] == next { b += 1 }
                            }
                            distinct += 1
                        }
                        base.storeBytes(of: UsageMetrics.formatVersion, as: UInt8.self)
                        n = 1
                        Self.put(stored.requests + UInt64(sorted.count), base, &n)
                        Self.put(stored.errors + errors, base, &n)
                        Self.put(UInt64(max(stored.max, sorted.last ?? 0)), base, &n)
                        Self.put(UInt64(distinct), base, &n)
                        var nextIndex = 0
                        b = 0
                        i = 0
                        while i < sorted.count || b < stored.buckets {
                            let next = i < sorted.count ? LatencyHistogram.index(of: sorted[i]) : Int.max
                            let index: Int
                            var count: UInt64 = 0
                            if b < stored.buckets, indexes[b] < next {
                                index = indexes[b]
                                count = counts[b]
                                b += 1
                            } else {
                                index = next
                                while i < sorted.count, LatencyHistogram.index(of: sorted[i]) == next {
                                    count += 1
                                    i += 1
                                }
                                if b < stored.buckets, indexes[b] == next {
                                    count += counts[b]
                                    b += 1
                                }
                            }
                            Self.put(UInt64(index - nextIndex), base, &n)
                            Self.put(count, base, &n)
                            nextIndex = index + 1
                        }
                        return n
                    }
                }
            }
        }

        /// Reads a row's figures, and its buckets into ``bucketIndexes`` and
        /// ``bucketCounts``, with every check ``UsageMetrics/init(decoding:)`` makes; nil
        /// when one fails.
        private mutating func readBuckets(_ row: UnsafeRawBufferPointer) -> (
            requests: UInt64, errors: UInt64, max: UInt32, buckets: Int
        )? {
            bucketIndexes.withUnsafeMutableBufferPointer { indexes in
                bucketCounts.withUnsafeMutableBufferPointer { counts in
                    var at = 0
                    guard row.count > 0, row[0] == UsageMetrics.formatVersion else { return nil }
                    at = 1
                    guard let requests = Self.varint(row, &at), let errors = Self.varint(row, &at),
                        let rawMax = Self.varint(row, &at), let max = UInt32(exactly: rawMax),
                        let rawCount = Self.varint(row, &at), rawCount <= UInt64(LatencyHistogram.bucketCount),
                        rawCount <= UInt64(row.count - at)
                    else { return nil }
                    let count = Int(rawCount)
                    let top = LatencyHistogram.index(of: max)
                    var next = 0
                    var total: UInt64 = 0
                    for j in 0..<count {
                        guard next <= top, let gap = Self.varint(row, &at), gap <= UInt64(top - next),
                            let n = Self.varint(row, &at), n > 0
                        else { return nil }
                        let (sum, overflow) = total.addingReportingOverflow(n)
                        guard !overflow else { return nil }
                        total = sum
                        indexes[j] = next + Int(gap)
                        counts[j] = n
                        next += Int(gap) + 1
                    }
                    guard count > 0 ? indexes[count - 1] == top : max == 0 else { return nil }
                    guard at == row.count, errors <= requests, total == requests else { return nil }
                    return (requests, errors, max, count)
                }
            }
        }

        /// A varint at `at` as ``BinaryReader/varint()`` reads one (at most 64 bits, in
        /// its shortest form); nil for anything else.
        @inline(__always)
        static func varint(_ bytes: UnsafeRawBufferPointer, _ at: inout Int) -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while at < bytes.count {
                let byte = bytes[at]
                at += 1
                guard shift < 64, !(shift == 63 && byte > 1) else { return nil }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 {
                    guard byte != 0 || shift == 0 else { return nil }
                    return value
                }
                shift += 7
            }
            return nil
        }

        /// Writes `value` as a varint at `base + n`, moving `n` on.
        @inline(__always)
        static func put(_ value: UInt64, _ base: UnsafeMutableRawPointer, _ n: inout Int) {
            var rest = value
            while rest >= 0x80 {
                base.storeBytes(of: UInt8(truncatingIfNeeded: rest) | 0x80, toByteOffset: n, as: UInt8.self)
                rest >>= 7
                n += 1
            }
            base.storeBytes(of: UInt8(rest), toByteOffset: n, as: UInt8.self)
            n += 1
        }
    }
}
