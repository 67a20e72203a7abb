public import Events
public import Store

/// Requests, errors and a latency histogram per key and minute, folded from
/// `key.accessed` events, so usage reports read a key's minutes in one cursor walk.
///
/// Table `usage_minutes`: key = the 16 id bytes, then the minute (µs since the epoch /
/// 60,000,000, floored) as 8 big-endian bytes with the sign bit flipped, so a key's
/// minutes sort together and in time order (before 1970 too); value = the encoded
/// ``UsageMetrics``. Table `usage_hours` holds the same per hour (the index is µs /
/// 3,600,000,000), so hourly and daily reports read 60 times fewer rows.
public struct UsageProjection: Projection {
    public static let tableSpecs = [TableSpec("usage_minutes"), TableSpec("usage_hours")]
    public let name = "usage"
    public let needsEventContext = false
    let minutes: Table
    let hours: Table
    public var tables: [Table] { [minutes, hours] }

    static let minuteMicros: Int64 = 60_000_000
    static let hourMicros: Int64 = 3_600_000_000

    public init(environment: Environment) {
        minutes = environment.table("usage_minutes")
        hours = environment.table("usage_hours")
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

    /// One row's identity: a key and a minute. Orders as the row keys do.
    struct MinuteRow: Hashable, Comparable {
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
            guard key.count == 24, let id = KeyID(bytes: UnsafeRawBufferPointer(rebasing: key[..<16])) else {
                return nil
            }
            let sortable = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            self.init(id, minute: Int64(bitPattern: sortable ^ (1 << 63)))
        }

        /// The id bytes, then the minute, big-endian with the sign bit flipped.
        var key: [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 24)
            bytes.withUnsafeMutableBytes { writeKey(into: $0) }
            return bytes
        }

        /// Writes ``key`` over the first 24 bytes of `out`.
        func writeKey(into out: UnsafeMutableRawBufferPointer) {
            let sortable = UInt64(bitPattern: minute) ^ (1 << 63)
            out.storeBytes(of: keyID.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: keyID.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            out.storeBytes(of: sortable.bigEndian, toByteOffset: 16, as: UInt64.self)
        }

        static func < (a: MinuteRow, b: MinuteRow) -> Bool { (a.keyID, a.minute) < (b.keyID, b.minute) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder {
        makeRebuilder(holdingAtMost: Rebuilder.maxHeld, encodingInBatchesOf: Rebuilder.batchSize)
    }

    /// A rebuilder that writes early once it holds `limit` accesses, and encodes the rows
    /// of about `batch` accesses at a time (tests use small ones).
    public func makeRebuilder(holdingAtMost limit: Int, encodingInBatchesOf batch: Int) -> any ProjectionRebuilder {
        Rebuilder(projection: self, maxHeld: limit, batchSize: batch)
    }

    /// Holds every access of a rebuild as 16 compact bytes and writes the rows once, at
    /// the end of the log, in key order: each row is written once, appended to the
    /// table (`MDB_APPEND`), instead of being merged into a scattered row at every chunk.
    /// Past `maxHeld` accesses it writes what it holds early, merging into the rows.
    struct Rebuilder: ProjectionRebuilder {
        /// 2^24 accesses: 256 MiB.
        static let maxHeld = 1 << 24
        let maxHeld: Int
        /// Accesses whose rows are encoded in one go, while the rows before are written.
        static let batchSize = 1 << 16
        let batchSize: Int

        /// One `key.accessed`: the key's index in `ids` (top bit: not VALID), its
        /// latency and minute.
        struct Access {
            var keyAndError: UInt32
            var latency: UInt32
            var minute: Int64

            var key: Int { Int(keyAndError & ~Access.errorBit) }
            static let errorBit: UInt32 = 1 << 31
        }

        let projection: UsageProjection
        var ids: [KeyID] = []
        var indexes: [KeyID: UInt32] = [:]
        var accesses: [Access] = []

        init(projection: UsageProjection, maxHeld: Int, batchSize: Int) {
            self.projection = projection
            self.maxHeld = maxHeld
            self.batchSize = batchSize
        }

        mutating func fold(contentsOf events: [Event]) {
            // Through the buffer, each event is lent to `fold`, not copied out.
            events.withUnsafeBufferPointer { events in for i in events.indices { fold(events[i]) } }
        }

        mutating func fold(_ event: Event) {
            guard case .accessed(let access) = event.payload else { return }
            let index: UInt32
            if let known = indexes[event.keyID] {
                index = known
            } else {
                index = UInt32(ids.count)
                ids.append(event.keyID)
                indexes[event.keyID] = index
            }
            accesses.append(
                Access(
                    keyAndError: index | (access.code == .valid ? 0 : Access.errorBit),
                    latency: access.latencyMicros, minute: floorDivide(event.time, minuteMicros)))
        }

        func isReadyToFlush(atLogEnd: Bool) -> Bool { atLogEnd || accesses.count >= maxHeld }

        func flush(into txn: borrowing Transaction) throws {
            guard !accesses.isEmpty else { return }
            // Appending is only right into empty tables: a rebuild's first write.
            let append = try txn.isEmpty(projection.minutes) && txn.isEmpty(projection.hours)
            // The rows of the next batch of keys are encoded on another thread while
            // this one writes the current batch.
            let batches = Self.batches(of: byKey(), accessesPerBatch: batchSize)
            var next = Prefetch { [self] in rows(of: batches[0]) }
            // Never leave the encoding running behind us.
            defer { _ = try? next.get() }
            try txn.withCursor(projection.minutes) { (minutes) throws in
                try txn.withCursor(projection.hours) { (hours) throws in
                    for i in batches.indices {
                        let batch = try next.get()
                        if i + 1 < batches.count { next = Prefetch { [self] in rows(of: batches[i + 1]) } }
                        if append {
                            try batch.minutes.append(through: &minutes)
                            try batch.hours.append(through: &hours)
                        } else {
                            try batch.minutes.merge(into: projection.minutes, of: projection, txn)
                            try batch.hours.merge(into: projection.hours, of: projection, txn)
                        }
                    }
                }
            }
        }

        /// Encoded rows, in key order: 24-byte keys and their values.
        struct RowBuffer: Sendable {
            var keys: [UInt8] = []
            var values = BinaryWriter(capacity: 1 << 16)
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
                keys.append(contentsOf: repeatElement(0, count: 24))
                keys.withUnsafeMutableBytes {
                    row.writeKey(into: UnsafeMutableRawBufferPointer(rebasing: $0[($0.count - 24)...]))
                }
                if latencies.count > 1 { latencies.sort() }
                latencies.withUnsafeBufferPointer {
                    UsageMetrics.encode(sorted: $0, errors: errors, into: &values)
                }
                ends.append(values.bytes.count)
                latencies.removeAll(keepingCapacity: true)
                errors = 0
            }

            /// Appends every row to the cursor's table (`MDB_APPEND`).
            func append(through cursor: inout Cursor) throws {
                try keys.withUnsafeBytes { (keys) throws in
                    try values.bytes.withUnsafeBytes { (values) throws in
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
                    let metrics = try values.bytes.withUnsafeBytes { (values) throws(EventDecodingError) in
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

        /// The minute and hour rows of some keys' accesses.
        func rows(of runs: ArraySlice<ArraySlice<Int>>) -> (minutes: RowBuffer, hours: RowBuffer) {
            var minutes = RowBuffer()
            var hours = RowBuffer()
            for run in runs {
                let id = ids[accesses[run[run.startIndex]].key]
                var current = accesses[run[run.startIndex]].minute
                for position in run {
                    let access = accesses[position]
                    if access.minute != current {
                        minutes.close(MinuteRow(id, minute: current))
                        if floorDivide(access.minute, 60) != floorDivide(current, 60) {
                            hours.close(MinuteRow(id, minute: floorDivide(current, 60)))
                        }
                        current = access.minute
                    }
                    minutes.record(access)
                    hours.record(access)
                }
                minutes.close(MinuteRow(id, minute: current))
                hours.close(MinuteRow(id, minute: floorDivide(current, 60)))
            }
            return (minutes, hours)
        }

        /// Consecutive runs of keys holding about `accessesPerBatch` accesses each (at
        /// least one key per batch).
        static func batches(of runs: [ArraySlice<Int>], accessesPerBatch: Int) -> [ArraySlice<ArraySlice<Int>>] {
            var batches: [ArraySlice<ArraySlice<Int>>] = []
            var start = 0
            var held = 0
            for (i, run) in runs.enumerated() {
                held += run.count
                if held >= accessesPerBatch || i == runs.count - 1 {
                    batches.append(runs[start...i])
                    start = i + 1
                    held = 0
                }
            }
            return batches
        }

        /// Positions in `accesses`, one run per key in key order, each run in minute
        /// order: a stable counting sort by key (the log is in time order already).
        func byKey() -> [ArraySlice<Int>] {
            let order = ids.indices.sorted { ids[$0] < ids[$1] }
            var start = [Int](repeating: 0, count: ids.count)
            var counts = [Int](repeating: 0, count: ids.count)
            for access in accesses { counts[access.key] += 1 }
            var total = 0
            for key in order {
                start[key] = total
                total += counts[key]
            }
            var positions = [Int](repeating: 0, count: accesses.count)
            var next = start
            for (position, access) in accesses.enumerated() {
                positions[next[access.key]] = position
                next[access.key] += 1
            }
            return order.map { key in
                var run = positions[start[key]..<(start[key] + counts[key])]
                // Times never go back in the log; sort anyway if an import bent that.
                if !zip(run, run.dropFirst()).allSatisfy({ accesses[$0].minute <= accesses[$1].minute }) {
                    run.sort { accesses[$0].minute < accesses[$1].minute }
                }
                return run
            }
        }

        mutating func flushed() {
            ids.removeAll()
            indexes.removeAll()
            accesses.removeAll()
        }
    }
}
