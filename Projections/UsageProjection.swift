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
            writeKey(into: &bytes)
            return bytes
        }

        /// Writes ``key`` over the 24 bytes of `buffer`.
        func writeKey(into buffer: inout [UInt8]) {
            let sortable = UInt64(bitPattern: minute) ^ (1 << 63)
            buffer.withUnsafeMutableBytes { out in
                out.storeBytes(of: keyID.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                out.storeBytes(of: keyID.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                out.storeBytes(of: sortable.bigEndian, toByteOffset: 16, as: UInt64.self)
            }
        }

        static func < (a: MinuteRow, b: MinuteRow) -> Bool { (a.keyID, a.minute) < (b.keyID, b.minute) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { makeRebuilder(holdingAtMost: Rebuilder.maxHeld) }

    /// A rebuilder that writes early once it holds `limit` accesses (tests use a small one).
    public func makeRebuilder(holdingAtMost limit: Int) -> any ProjectionRebuilder {
        Rebuilder(projection: self, maxHeld: limit)
    }

    /// Holds every access of a rebuild as 16 compact bytes and writes the rows once, at
    /// the end of the log, in key order: each row is written once, appended to the
    /// table (`MDB_APPEND`), instead of being merged into a scattered row at every chunk.
    /// Past `maxHeld` accesses it writes what it holds early, merging into the rows.
    struct Rebuilder: ProjectionRebuilder {
        /// 2^24 accesses: 256 MiB.
        static let maxHeld = 1 << 24
        let maxHeld: Int

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

        init(projection: UsageProjection, maxHeld: Int) {
            self.projection = projection
            self.maxHeld = maxHeld
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
            var minute = UsageMetrics()
            var hour = UsageMetrics()
            // One key buffer and one value buffer for every row.
            var key = [UInt8](repeating: 0, count: 24)
            var value = BinaryWriter(capacity: 64)
            func write(_ metrics: inout UsageMetrics, _ row: MinuteRow, _ table: Table, _ cursor: inout Cursor) throws {
                defer { metrics.reset() }
                guard append else { return try projection.add(metrics, to: row, in: table, txn) }
                row.writeKey(into: &key)
                value.reset()
                metrics.encode(into: &value)
                try key.withUnsafeBytes { (k) throws in
                    try value.bytes.withUnsafeBytes { (v) throws in try cursor.put(k, v, append: true) }
                }
            }
            try txn.withCursor(projection.minutes) { (minutes) throws in
                try txn.withCursor(projection.hours) { (hours) throws in
                    for run in byKey() {
                        let id = ids[accesses[run[run.startIndex]].key]
                        var current = accesses[run[run.startIndex]].minute
                        for position in run {
                            let access = accesses[position]
                            if access.minute != current {
                                try write(&minute, MinuteRow(id, minute: current), projection.minutes, &minutes)
                                if floorDivide(access.minute, 60) != floorDivide(current, 60) {
                                    try write(
                                        &hour, MinuteRow(id, minute: floorDivide(current, 60)), projection.hours, &hours
                                    )
                                }
                                current = access.minute
                            }
                            minute.record(access.latency, isError: access.keyAndError & Access.errorBit != 0)
                            hour.record(access.latency, isError: access.keyAndError & Access.errorBit != 0)
                        }
                        try write(&minute, MinuteRow(id, minute: current), projection.minutes, &minutes)
                        try write(&hour, MinuteRow(id, minute: floorDivide(current, 60)), projection.hours, &hours)
                    }
                }
            }
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
