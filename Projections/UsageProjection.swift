public import Events
public import Store
import Synchronization

/// Requests, errors and a latency histogram per key and minute, folded from
/// `key.accessed` events.
///
/// Table `usage_by_minute`: key = the minute (µs since the epoch / 60,000,000, floored)
/// as 8 big-endian bytes with the sign bit flipped (so minutes sort in time order, before
/// 1970 too), then the 16 id bytes; value = the encoded ``UsageMetrics``. Table
/// `usage_by_hour` holds the same per hour (the index is µs / 3,600,000,000), so hourly
/// and daily reports read 60 times fewer rows.
///
/// Rows are keyed by time first: the rows a batch of verifications updates are all the
/// current minute's and hour's, which sit together at the end of each table however
/// long the history, instead of one page per key (the key-first layout made every
/// verification dirty two pages more as a ledger aged). A report looks each of its
/// key's rows up by exact key.
public struct UsageProjection: Projection {
    public static let tableSpecs = [TableSpec("usage_by_minute"), TableSpec("usage_by_hour")]
    /// The key-first tables of ledgers written before; a writable open drops them and
    /// rebuilds this projection.
    public static let retiredTableNames = ["usage_minutes", "usage_hours"]
    public let name = "usage"
    public let needsEventContext = false
    let minutes: Table
    let hours: Table
    public var tables: [Table] { [minutes, hours] }

    static let minuteMicros: Int64 = 60_000_000
    static let hourMicros: Int64 = 3_600_000_000

    public init(environment: Environment) {
        minutes = environment.table("usage_by_minute")
        hours = environment.table("usage_by_hour")
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        guard case .accessed(let access) = event.payload else { return }
        var metrics = UsageMetrics()
        metrics.record(access)
        try add(metrics, to: MinuteRow(event), in: minutes, txn)
        try add(metrics, to: MinuteRow(event, unit: Self.hourMicros), in: hours, txn)
    }

    /// Merges `metrics` into the row of `row` in `table`, creating it when missing.
    func add(_ metrics: UsageMetrics, to row: MinuteRow, in table: Table, _ txn: borrowing Transaction) throws {
        let key = row.key
        var merged =
            try key.withUnsafeBytes { (k) throws -> UsageMetrics? in
                // Decoded (copied) before the put below invalidates the buffer.
                try txn.get(table, k).map { (v) throws(EventDecodingError) in try UsageMetrics(decoding: v) }
            } ?? UsageMetrics()
        merged.merge(metrics)
        try txn.put(table, key, merged.encoded())
    }

    /// `x / y` rounded toward negative infinity.
    static func floorDivide(_ x: Int64, _ y: Int64) -> Int64 {
        let (quotient, remainder) = x.quotientAndRemainder(dividingBy: y)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// One row's identity: a key and a minute (or an hour, in the hour table).
    struct MinuteRow: Hashable {
        let keyID: KeyID
        /// µs since the epoch / 60,000,000, floored.
        let minute: Int64

        init(_ keyID: KeyID, minute: Int64) {
            self.keyID = keyID
            self.minute = minute
        }

        /// The row of `event` in units of `unit` µs (minutes unless said otherwise).
        init(_ event: Event, unit: Int64 = minuteMicros) {
            self.init(event.keyID, minute: floorDivide(event.time, unit))
        }

        /// Reads a row key; nil for anything but 24 bytes.
        init?(key: UnsafeRawBufferPointer) {
            guard key.count == 24, let id = KeyID(bytes: UnsafeRawBufferPointer(rebasing: key[8...])) else {
                return nil
            }
            self.init(id, minute: Self.minute(ofKey: key))
        }

        /// The minute (or hour) of a row key.
        static func minute(ofKey key: UnsafeRawBufferPointer) -> Int64 {
            Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) ^ (1 << 63))
        }

        /// The minute, big-endian with the sign bit flipped, then the id bytes.
        var key: [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 24)
            bytes.withUnsafeMutableBytes { writeKey(into: $0) }
            return bytes
        }

        /// Writes ``key`` over the first 24 bytes of `out`.
        func writeKey(into out: UnsafeMutableRawBufferPointer) {
            let sortable = UInt64(bitPattern: minute) ^ (1 << 63)
            out.storeBytes(of: sortable.bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: keyID.high.bigEndian, toByteOffset: 8, as: UInt64.self)
            out.storeBytes(of: keyID.low.bigEndian, toByteOffset: 16, as: UInt64.self)
        }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// One `key.accessed` held by a rebuild: the key's index in its id list (top bit: not
    /// VALID), its latency and minute.
    struct Access {
        var keyAndError: UInt32
        var latency: UInt32
        var minute: Int64

        var key: Int { Int(keyAndError & ~Access.errorBit) }
        var hour: Int64 { floorDivide(minute, 60) }
        static let errorBit: UInt32 = 1 << 31
    }

    /// Rows a rebuild has made final, encoded, and the seq they cover the log through.
    struct ClosedRows: Sendable {
        /// Rows of closed hours, in key order, each after every row written before them.
        var minutes = RowBuffer()
        var hours = RowBuffer()
        /// Rows of hours closed before (an access whose time went back: the log never
        /// holds one, but a rebuild does not rely on it), merged into what is there.
        var lateMinutes = RowBuffer()
        var lateHours = RowBuffer()
        /// The seq of the first access still held (its hour is open): the rows cover the
        /// log up to the seq before it. Nil when they cover every event folded so far.
        var heldFrom: UInt64?

        func write(into projection: UsageProjection, _ txn: borrowing Transaction) throws {
            try txn.withCursor(projection.minutes) { (cursor) throws in try minutes.append(through: &cursor) }
            try txn.withCursor(projection.hours) { (cursor) throws in try hours.append(through: &cursor) }
            try lateMinutes.merge(into: projection.minutes, of: projection, txn)
            try lateHours.merge(into: projection.hours, of: projection, txn)
        }
    }

    /// Folds a rebuild an hour at a time. Rows are keyed by time first, so once the log has
    /// moved past an hour, that hour's minute and hour rows are final and sort after every
    /// row written before them: they are encoded on the preparing thread and appended
    /// (`MDB_APPEND`) at the next flush. Only the open hour's accesses are held, and the
    /// checkpoint stays before the first of them, so an interrupted rebuild resumes (by
    /// incremental folds) without counting an access twice or missing one.
    struct Rebuilder: ProjectionRebuilder {
        let projection: UsageProjection
        let hourly = HourlyPreparer()
        var preparer: (any ChunkPreparer)? { hourly }
        /// The rows prepared since the last commit, piece by piece, and how many of those
        /// the open transaction holds.
        var pending: [ClosedRows] = []
        var written = 0

        init(projection: UsageProjection) { self.projection = projection }

        mutating func fold(_ chunk: LogChunk) { pending.append(hourly.fold(chunk)) }

        mutating func fold(prepared: any Sendable) {
            guard let rows = prepared as? ClosedRows else {
                preconditionFailure("the usage rebuilder was handed another projection's preparation")
            }
            pending.append(rows)
        }

        func checkpoint(after last: UInt64) -> UInt64 { pending.last?.heldFrom.map { $0 - 1 } ?? last }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            for rows in pending[written...] { try rows.write(into: projection, txn) }
            written = pending.count
        }

        mutating func rewind() { written = 0 }

        mutating func committed() {
            pending.removeAll()
            written = 0
        }
    }

    /// Holds the open hour's accesses and encodes the rows of each hour the log leaves.
    final class HourlyPreparer: ChunkPreparer {
        private let folder = Mutex(HourFolder())

        func prepare(_ chunk: LogChunk) -> any Sendable { fold(chunk) }

        func fold(_ chunk: LogChunk) -> ClosedRows {
            folder.withLock { folder in
                folder.ids.append(contentsOf: chunk.newKeys)
                chunk.forEach { access in
                    folder.fold(
                        key: access.key, code: access.code, latency: access.latencyMicros, at: access.time,
                        seq: access.seq)
                } other: { event, key in
                    guard case .accessed(let access) = event.payload else { return }
                    folder.fold(
                        key: key, code: access.code, latency: access.latencyMicros, at: event.time, seq: event.seq)
                }
                // The end of the log closes the open hour, here rather than on the
                // writing thread, so it overlaps the writes of the chunk before.
                if chunk.endsLog { folder.close() }
                return folder.take()
            }
        }
    }

    struct HourFolder: Sendable {
        /// By key number.
        var ids: [KeyID] = []
        /// The accesses since the first of the open hour.
        var held: [Access] = []
        var openHour: Int64?
        /// The seq of the open hour's first access.
        var openedAt: UInt64 = 0
        var closed = ClosedRows()

        /// Folds an access by key number `key`.
        mutating func fold(key: UInt32, code: VerifyCode, latency: UInt32, at time: Int64, seq: UInt64) {
            let minute = floorDivide(time, minuteMicros)
            let hour = floorDivide(minute, 60)
            if let open = openHour, hour > open { close() }
            if openHour == nil {
                openHour = hour
                openedAt = seq
            }
            held.append(
                Access(keyAndError: key | (code == .valid ? 0 : Access.errorBit), latency: latency, minute: minute))
        }

        /// The rows closed since the last take.
        mutating func take() -> ClosedRows {
            var rows = closed
            rows.heldFrom = openHour == nil ? nil : openedAt
            closed = ClosedRows()
            return rows
        }

        /// Encodes the open hour's rows (and any late ones) and forgets its accesses. A
        /// busy hour's hour rows are encoded on a second thread while this one encodes its
        /// minute rows (at the end of a replay's log, nothing else is left to run).
        mutating func close() {
            guard let open = openHour else { return }
            let (minuteOrder, hourOrder) = rowOrders(open: open)
            let (held, ids) = (held, ids)
            let hours = Mutex((final: RowBuffer(), late: RowBuffer()))
            let hourRows = { @Sendable in
                var rows = (final: RowBuffer(), late: RowBuffer())
                Self.write(hourOrder, of: held, ids, hourly: true, open: open, final: &rows.final, late: &rows.late)
                hours.withLock { $0 = rows }
            }
            // Static, so the rows grow in place: a method of self would copy them.
            inParallel(
                alone: held.count < Self.parallelClose,
                {
                    Self.write(
                        minuteOrder, of: held, ids, hourly: false, open: open * 60, final: &closed.minutes,
                        late: &closed.lateMinutes)
                }, hourRows)
            hours.withLock { hours in
                closed.hours.append(hours.final)
                closed.lateHours.append(hours.late)
            }
            self.held.removeAll(keepingCapacity: true)
            openHour = nil
        }

        /// The accesses from which an hour's close encodes its two kinds of rows at once.
        static let parallelClose = 4_096

        /// Positions in `held` in minute-row order and in hour-row order: by (minute or
        /// hour, key id), then by position, so each row's latencies keep log order.
        ///
        /// The log's times never go back, so `held` is in minute order already and every
        /// access is of the open hour: each minute's run is sorted by the key's rank among
        /// the hour's keys, and the hour's order is a counting sort by rank. Should a time
        /// have gone back, a plain comparison sort does the same.
        func rowOrders(open: Int64) -> (minutes: [Int], hours: [Int]) {
            guard zip(held, held.dropFirst()).allSatisfy({ $0.minute <= $1.minute }), held.first?.hour == open else {
                func rows(_ unit: KeyPath<Access, Int64>) -> [Int] {
                    held.indices.sorted { a, b in
                        let (x, y) = (held[a], held[b])
                        if x[keyPath: unit] != y[keyPath: unit] { return x[keyPath: unit] < y[keyPath: unit] }
                        if x.key != y.key { return ids[x.key] < ids[y.key] }
                        return a < b
                    }
                }
                return (rows(\.minute), rows(\.hour))
            }
            // The hour's keys, ranked in id order.
            var rank = [Int](repeating: -1, count: ids.count)
            var keys: [Int] = []
            for access in held where rank[access.key] < 0 {
                rank[access.key] = 0
                keys.append(access.key)
            }
            // Sorted as (id, index) pairs: no lookup through `ids` per comparison.
            let ranked = keys.map { (id: ids[$0], key: $0) }.sorted { $0.id < $1.id }
            for (r, entry) in ranked.enumerated() { rank[entry.key] = r }
            // Minute rows: within each minute's run, by (rank, position): a counting sort
            // when the run is long next to the hour's keys, else a sort of packed pairs.
            var minutes = [Int](repeating: 0, count: held.count)
            var starts = [Int](repeating: 0, count: keys.count + 1)
            var runStart = 0
            var packed: [UInt64] = []
            while runStart < held.count {
                var runEnd = runStart
                while runEnd < held.count, held[runEnd].minute == held[runStart].minute { runEnd += 1 }
                if (runEnd - runStart) * 4 >= keys.count {
                    countingSort(runStart..<runEnd, by: rank, starts: &starts, into: &minutes)
                } else {
                    packed.removeAll(keepingCapacity: true)
                    for i in runStart..<runEnd { packed.append(UInt64(rank[held[i].key]) << 32 | UInt64(i)) }
                    packed.sort()
                    for (j, p) in packed.enumerated() { minutes[runStart + j] = Int(p & 0xFFFF_FFFF) }
                }
                runStart = runEnd
            }
            // Hour rows: a counting sort by rank.
            var hours = [Int](repeating: 0, count: held.count)
            countingSort(held.indices, by: rank, starts: &starts, into: &hours)
            return (minutes, hours)
        }

        /// Writes the positions `range` of `held`, stably sorted by their key's rank, over
        /// the same range of `order`. `starts` has a zero for every rank and one more,
        /// and is left so.
        private func countingSort(_ range: Range<Int>, by rank: [Int], starts: inout [Int], into order: inout [Int]) {
            for i in range { starts[rank[held[i].key] + 1] += 1 }
            starts[0] = range.lowerBound
            for r in 1..<starts.count { starts[r] += starts[r - 1] }
            for i in range {
                let r = rank[held[i].key]
                order[starts[r]] = i
                starts[r] += 1
            }
            for r in starts.indices { starts[r] = 0 }
        }

        /// Encodes one row per run of equal (unit, key) in `order`, the unit being the
        /// hour when `hourly`, else the minute: rows before `open` are late.
        private static func write(
            _ order: [Int], of held: [Access], _ ids: [KeyID], hourly: Bool, open: Int64,
            final: inout RowBuffer, late: inout RowBuffer
        ) {
            func unit(_ access: Access) -> Int64 { hourly ? access.hour : access.minute }
            held.withUnsafeBufferPointer { held in
                order.withUnsafeBufferPointer { order in
                    var start = 0
                    while start < order.count {
                        let first = held[order[start]]
                        let row = MinuteRow(ids[first.key], minute: unit(first))
                        var end = start
                        func sameRow(_ i: Int) -> Bool {
                            i < order.count && held[order[i]].key == first.key && unit(held[order[i]]) == row.minute
                        }
                        if row.minute < open {
                            var rows = RowBuffer()
                            while sameRow(end) {
                                rows.record(held[order[end]])
                                end += 1
                            }
                            rows.close(row)
                            late.append(rows)
                        } else {
                            while sameRow(end) {
                                final.record(held[order[end]])
                                end += 1
                            }
                            final.close(row)
                        }
                        start = end
                    }
                }
            }
        }
    }

    /// Encoded rows, in key order: 24-byte keys and their values.
    struct RowBuffer: Sendable {
        var keys: [UInt8] = []
        var values = BinaryWriter(capacity: 256)
        /// Where each value ends in `values`.
        var ends: [Int] = []
        /// The row being gathered: its accesses' latencies and errors.
        var latencies: [UInt32] = []
        var errors: UInt64 = 0

        mutating func record(_ access: Access) {
            latencies.append(access.latency)
            if access.keyAndError & Access.errorBit != 0 { errors += 1 }
        }

        /// Writes the gathered row as `row` and starts the next.
        mutating func close(_ row: MinuteRow) {
            var key: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &key) { row.writeKey(into: $0) }
            withUnsafeBytes(of: key) { keys.append(contentsOf: $0) }
            if latencies.count > 1 { latencies.sort() }
            latencies.withUnsafeBufferPointer {
                UsageMetrics.encode(sorted: $0, errors: errors, into: &values)
            }
            ends.append(values.count)
            latencies.removeAll(keepingCapacity: true)
            errors = 0
        }

        /// Appends the rows of `other` after these.
        mutating func append(_ other: RowBuffer) {
            let base = values.count
            keys.append(contentsOf: other.keys)
            values.raw(other.values.bytes)
            ends.append(contentsOf: other.ends.map { $0 + base })
        }

        /// Appends every row to the cursor's table (`MDB_APPEND`).
        func append(through cursor: inout Cursor) throws {
            try keys.withUnsafeBytes { (keys) throws in
                try values.withUnsafeBytes { (values) throws in
                    var start = 0
                    for (i, end) in ends.enumerated() {
                        try cursor.put(
                            UnsafeRawBufferPointer(rebasing: keys[(i * 24)..<(i * 24 + 24)]),
                            UnsafeRawBufferPointer(rebasing: values[start..<end]), append: true)
                        start = end
                    }
                }
            }
        }

        /// Merges every row into the rows already in `table`.
        func merge(into table: Table, of projection: UsageProjection, _ txn: borrowing Transaction) throws {
            var start = 0
            for (i, end) in ends.enumerated() {
                let metrics = try values.withUnsafeBytes { (values) throws(EventDecodingError) in
                    try UsageMetrics(decoding: UnsafeRawBufferPointer(rebasing: values[start..<end]))
                }
                let row = keys.withUnsafeBytes {
                    MinuteRow(key: UnsafeRawBufferPointer(rebasing: $0[(i * 24)..<(i * 24 + 24)]))
                }
                if let row { try projection.add(metrics, to: row, in: table, txn) }
                start = end
            }
        }
    }
}
