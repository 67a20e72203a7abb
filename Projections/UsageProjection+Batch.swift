public import Events
public import Store

/// The live fold of a run of events: each minute and hour row the run touches is read,
/// merged and written once, in key order, and merged as encoded bytes (no histogram
/// decoded into buckets and encoded back per event).
extension UsageProjection {
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        // The run's keys by number (first met, first numbered), found without SipHash.
        var numbers = KeyIndexTable(minimumCapacity: min(events.count, 4_096))
        var ids: [KeyID] = []
        ids.reserveCapacity(min(events.count, 4_096))
        var accesses: [RunAccess] = []
        accesses.reserveCapacity(events.count)
        var firstMinute = Int64.max
        var firstHour = Int64.max
        events.withUnsafeBufferPointer { events in
            for i in events.indices {
                guard case .accessed(let access) = events[i].payload else { continue }
                let id = events[i].keyID
                let number: Int
                if let known = numbers[id] {
                    number = known
                } else {
                    number = ids.count
                    numbers.insert(id, number)
                    ids.append(id)
                }
                let time = events[i].time
                let minute = Self.floorDivide(time, Self.minuteMicros)
                let hour = Self.floorDivide(time, Self.hourMicros)
                firstMinute = min(firstMinute, minute)
                firstHour = min(firstHour, hour)
                accesses.append(
                    RunAccess(
                        minute: minute, hour: hour, key: UInt32(number), latency: access.latencyMicros,
                        isError: access.code != .valid))
            }
        }
        guard !accesses.isEmpty else { return }
        // Each key's rank in id order: rows sorted by unit then rank are in key order.
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        var rank = [UInt32](repeating: 0, count: ids.count)
        for (r, number) in order.enumerated() { rank[number] = UInt32(r) }
        var scratch = RowScratch()
        var sorted: [UInt128] = []
        sorted.reserveCapacity(accesses.count)
        for (table, first, isMinute) in [(minutes, firstMinute, true), (hours, firstHour, false)] {
            sorted.removeAll(keepingCapacity: true)
            for a in accesses {
                let unit = isMinute ? a.minute : a.hour
                sorted.append(
                    RowScratch.sortKey(unit: unit, after: first, rank: rank[Int(a.key)], a.latency, a.isError))
            }
            // Sorted as integers: one comparison inlined, no closure per comparison.
            sorted.sort()
            try scratch.write(sorted, first: first, ids: { ids[order[$0]] }, into: table, txn)
        }
    }

    /// One access of a run: its minute and hour, its key's number in the run.
    struct RunAccess {
        var minute: Int64
        var hour: Int64
        var key: UInt32
        var latency: UInt32
        var isError: Bool
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

        /// An access as it sorts: its unit's offset from the run's first (64 bits), its
        /// key's rank in id order (31 bits), its latency (32 bits) and whether it was an
        /// error (1 bit). Accesses of one row sort together, in row key order, each row's
        /// latencies ascending.
        @inline(__always)
        static func sortKey(unit: Int64, after first: Int64, rank: UInt32, _ latency: UInt32, _ isError: Bool)
            -> UInt128
        {
            let offset = UInt64(bitPattern: unit &- first)
            let low = UInt64(rank) << 33 | UInt64(latency) << 1 | (isError ? 1 : 0)
            return UInt128(offset) << 64 | UInt128(low)
        }

        /// Merges each row's accesses (`sorted`: ``sortKey(unit:after:rank:_:_:)``s,
        /// ascending, units after `first`, `ids` giving a rank's key) into its row of
        /// `table` (created when missing).
        mutating func write(
            _ sorted: [UInt128], first: Int64, ids: (Int) -> KeyID, into table: Table, _ txn: borrowing Transaction
        ) throws {
            try txn.withCursor(table) { (cursor) throws in
                var start = 0
                while start < sorted.count {
                    // A row's accesses share everything above the latency and error bits.
                    let row = sorted[start] >> 33
                    var end = start
                    var errors: UInt64 = 0
                    latencies.removeAll(keepingCapacity: true)
                    while end < sorted.count, sorted[end] >> 33 == row {
                        let low = UInt64(truncatingIfNeeded: sorted[end])
                        latencies.append(UInt32(truncatingIfNeeded: low >> 1))
                        errors += low & 1
                        end += 1
                    }
                    let unit = first &+ Int64(bitPattern: UInt64(truncatingIfNeeded: row >> 31))
                    let id = ids(Int(UInt64(truncatingIfNeeded: row) & 0x7FFF_FFFF))
                    var key: (UInt64, UInt64, UInt64) = (0, 0, 0)
                    withUnsafeMutableBytes(of: &key) { MinuteRow(id, minute: unit).writeKey(into: $0) }
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
                try writer.withUnsafeBytes { (v) throws in try cursor.replaceCurrent(key, v) }
            } else {
                // A new row is the empty row merged with the accesses: the bytes
                // ``UsageMetrics/encode(sorted:errors:into:)`` writes, in one pass.
                let merged = Self.emptyRow.withUnsafeBytes { empty in
                    latencies.withUnsafeBufferPointer { merge(empty, $0, errors: errors) }
                }
                guard let merged else { preconditionFailure("the empty row merges") }
                try out.withUnsafeBytes { (v) throws in try cursor.put(key, UnsafeRawBufferPointer(rebasing: v[merged])) }
            }
        }

        /// The row of no accesses: format, 0 requests, 0 errors, latency max 0, no buckets.
        static let emptyRow: [UInt8] = [UsageMetrics.formatVersion, 0, 0, 0, 0]

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
