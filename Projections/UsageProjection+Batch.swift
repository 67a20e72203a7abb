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
        /// A merged row: its buckets from ``headerRoom`` on, its head just before them;
        /// room for the largest (every bucket, each varint at its longest).
        var out = [UInt8](repeating: 0, count: headerRoom + 10 * 2 * LatencyHistogram.bucketCount)
        /// Bytes before a merged row's buckets, for its head (at most 5 varints).
        static let headerRoom = 64

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
                let merged = latencies.withUnsafeBufferPointer { merge(old, $0, errors: errors) }
                if let merged {
                    try out.withUnsafeBytes { (v) throws in
                        try cursor.replaceCurrent(key, UnsafeRawBufferPointer(rebasing: v[merged]))
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
        /// and recording `sorted` (`errors` of them not VALID): the same bytes, merged in
        /// one pass over the row's buckets as they are encoded. Returns where in ``out``
        /// it is; nil when `row` fails a check ``UsageMetrics/init(decoding:)`` makes.
        mutating func merge(_ row: UnsafeRawBufferPointer, _ sorted: UnsafeBufferPointer<UInt32>, errors: UInt64)
            -> Range<Int>?
        {
            out.withUnsafeMutableBytes { out -> Range<Int>? in
                let base = out.baseAddress!
                var at = 1
                guard row.count > 0, row[0] == UsageMetrics.formatVersion,
                    let requests = Self.varint(row, &at), let storedErrors = Self.varint(row, &at),
                    let rawMax = Self.varint(row, &at), let max = UInt32(exactly: rawMax),
                    let rawCount = Self.varint(row, &at), rawCount <= UInt64(LatencyHistogram.bucketCount),
                    rawCount <= UInt64(row.count - at)
                else { return nil }
                let top = LatencyHistogram.index(of: max)
                // The merged buckets, after the room for the head.
                var n = Self.headerRoom
                var buckets = 0
                var previous = 0
                func emit(_ index: Int, _ count: UInt64) {
                    Self.put(UInt64(index - previous), base, &n)
                    Self.put(count, base, &n)
                    previous = index + 1
                    buckets += 1
                }
                var i = 0
                // The new latencies' buckets below `bound`, each with its count.
                func emitNew(below bound: Int) {
                    while i < sorted.count {
                        let index = LatencyHistogram.index(of: sorted[i])
                        guard index < bound else { return }
                        var count: UInt64 = 0
                        while i < sorted.count, LatencyHistogram.index(of: sorted[i]) == index {
                            count += 1
                            i += 1
                        }
                        emit(index, count)
                    }
                }
                var next = 0
                var total: UInt64 = 0
                for _ in 0..<Int(rawCount) {
                    guard next <= top, let gap = Self.varint(row, &at), gap <= UInt64(top - next),
                        let stored = Self.varint(row, &at), stored > 0
                    else { return nil }
                    let (sum, overflow) = total.addingReportingOverflow(stored)
                    guard !overflow else { return nil }
                    total = sum
                    let index = next + Int(gap)
                    next = index + 1
                    emitNew(below: index)
                    var count = stored
                    while i < sorted.count, LatencyHistogram.index(of: sorted[i]) == index {
                        count += 1
                        i += 1
                    }
                    emit(index, count)
                }
                emitNew(below: Int.max)
                guard rawCount > 0 ? next - 1 == top : max == 0 else { return nil }
                guard at == row.count, storedErrors <= requests, total == requests else { return nil }
                // The head, written at the start, then moved to just before the buckets.
                var h = 0
                base.storeBytes(of: UsageMetrics.formatVersion, as: UInt8.self)
                h = 1
                Self.put(requests + UInt64(sorted.count), base, &h)
                Self.put(storedErrors + errors, base, &h)
                Self.put(UInt64(Swift.max(max, sorted.last ?? 0)), base, &h)
                Self.put(UInt64(buckets), base, &h)
                let start = Self.headerRoom - h
                (base + start).copyMemory(from: base, byteCount: h)
                return start..<n
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
