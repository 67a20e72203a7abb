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
            let sortable = UInt64(bitPattern: minute) ^ (1 << 63)
            return keyID.bytes + withUnsafeBytes(of: sortable.bigEndian) { Array($0) }
        }

        static func < (a: MinuteRow, b: MinuteRow) -> Bool { (a.keyID, a.minute) < (b.keyID, b.minute) }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// Sums each (key, minute) in memory and merges the sums into the table at each
    /// flush; a minute split across two flushes is merged into the row the first wrote.
    struct Rebuilder: ProjectionRebuilder {
        let projection: UsageProjection
        var pending: [MinuteRow: UsageMetrics] = [:]
        var pendingHours: [MinuteRow: UsageMetrics] = [:]

        mutating func fold(_ event: Event) {
            guard case .accessed(let access) = event.payload else { return }
            pending[MinuteRow(event), default: UsageMetrics()].record(access)
            pendingHours[MinuteRow(event, unit: UsageProjection.hourMicros), default: UsageMetrics()].record(access)
        }

        func flush(into txn: borrowing Transaction) throws {
            // Key order makes the puts sequential in the B-tree.
            for (row, metrics) in pending.sorted(by: { $0.key < $1.key }) {
                try projection.add(metrics, to: row, in: projection.minutes, txn)
            }
            for (row, metrics) in pendingHours.sorted(by: { $0.key < $1.key }) {
                try projection.add(metrics, to: row, in: projection.hours, txn)
            }
        }

        mutating func flushed() {
            pending.removeAll(keepingCapacity: true)
            pendingHours.removeAll(keepingCapacity: true)
        }
    }
}
