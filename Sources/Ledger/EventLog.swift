public import Events
public import Store

/// The append-only, hash-chained log: table `events`, key = seq (UInt64 big-endian,
/// appended with `MDB_APPEND`), value = record || prevHash || hash.
public struct EventLog: Sendable {
    public static let tableSpec = TableSpec("events")
    let events: Table

    public init(environment: Environment) { events = environment.table(Self.tableSpec.name) }

    /// The end of the log: last seq (0 when empty), its hash and time.
    public struct Head: Sendable, Equatable {
        public var seq: UInt64
        public var hash: Digest
        public var time: Int64
    }

    /// An event with the chain links it was stored with.
    public struct Stored: Sendable {
        public var event: Event
        public var prevHash: Digest
        public var hash: Digest
    }

    static func key(_ seq: UInt64) -> [UInt8] { withUnsafeBytes(of: seq.bigEndian) { Array($0) } }

    public func head(in txn: borrowing Transaction) throws -> Head {
        try txn.withCursor(events) { cursor in
            guard let last = try cursor.last() else { return Head(seq: 0, hash: .zero, time: 0) }
            let seq = UInt64(bigEndian: last.key.loadUnaligned(as: UInt64.self))
            let parts = try ChainedRecord.split(last.value)
            // The record's time sits after the version and type bytes.
            let time =
                parts.record.count >= 10
                ? Int64(littleEndian: parts.record.loadUnaligned(fromByteOffset: 2, as: Int64.self)) : 0
            return Head(seq: seq, hash: parts.hash, time: time)
        }
    }

    /// Appends `event` after `head`, setting its seq and moving `head` on.
    public func append(_ event: inout Event, after head: inout Head, in txn: borrowing Transaction) throws {
        var buffer = BinaryWriter()
        try append(&event, after: &head, in: txn, buffer: &buffer)
    }

    /// ``append(_:after:in:)``, the stored value made in `buffer` (emptied first): a
    /// writer appending many events reuses one buffer for them all.
    public func append(
        _ event: inout Event, after head: inout Head, in txn: borrowing Transaction, buffer: inout BinaryWriter
    ) throws {
        event.seq = head.seq + 1
        buffer.reset()
        EventCodec.encode(event, into: &buffer)
        let hash = ChainedRecord.seal(&buffer, after: head.hash)
        var key = event.seq.bigEndian
        try withUnsafeBytes(of: &key) { key in
            try buffer.withUnsafeBytes { value in try txn.put(events, key, value, append: true) }
        }
        head = Head(seq: event.seq, hash: hash, time: event.time)
    }

    /// The event at `seq`, or nil past the end.
    public func event(at seq: UInt64, in txn: borrowing Transaction) throws -> Stored? {
        try Self.key(seq).withUnsafeBytes { key in
            guard let value = try txn.get(events, key) else { return nil }
            return try Self.decodeStored(value, seq: seq, context: .all)
        }
    }

    static func decodeStored(_ value: UnsafeRawBufferPointer, seq: UInt64, context: EventCodec.Context) throws -> Stored {
        let parts = try ChainedRecord.split(value)
        return Stored(
            event: try EventCodec.decode(parts.record, seq: seq, context: context),
            prevHash: parts.prevHash, hash: parts.hash)
    }

    /// Calls `body` for each event from `first` on, in order, until it returns false.
    public func scan(
        from first: UInt64, context: EventCodec.Context = .all, in txn: borrowing Transaction,
        _ body: (Stored) throws -> Bool
    ) throws {
        try scanValues(from: first, in: txn) { seq, value in
            try body(try Self.decodeStored(value, seq: seq, context: context))
        }
    }

    /// Calls `body` with the seq and record (without the chain's hashes) of each event
    /// from `first` on, in order, until it returns false. The record is valid only
    /// during the call.
    public func scanRecords(
        from first: UInt64, in txn: borrowing Transaction, _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try scanValues(from: first, in: txn) { seq, value in try body(seq, try ChainedRecord.record(of: value)) }
    }

    /// Calls `body` with the seq and stored value of each event from `first` on, in
    /// order, until it returns false.
    private func scanValues(
        from first: UInt64, in txn: borrowing Transaction, _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try txn.withCursor(events) { cursor in
            var entry = try cursor.seek(atLeast: Self.key(first))
            while let e = entry {
                guard try body(UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self)), e.value) else { return }
                entry = try cursor.next()
            }
        }
    }

    /// The time of the event at `seq` (read from the record without decoding it).
    public func time(at seq: UInt64, in txn: borrowing Transaction) throws -> Int64? {
        try Self.key(seq).withUnsafeBytes { key in
            guard let value = try txn.get(events, key), value.count >= 10 + ChainedRecord.trailerSize else {
                return nil
            }
            return Int64(littleEndian: value.loadUnaligned(fromByteOffset: 2, as: Int64.self))
        }
    }

    /// The last seq whose event time is at or before `time` (0 when none). Event times
    /// never decrease along the log, so this is a binary search.
    public func lastSeq(atOrBefore time: Int64, in txn: borrowing Transaction) throws -> UInt64 {
        var low: UInt64 = 1
        var high = try head(in: txn).seq
        var found: UInt64 = 0
        while low <= high {
            let mid = low + (high - low) / 2
            guard let eventTime = try self.time(at: mid, in: txn) else { break }
            if eventTime <= time {
                found = mid
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return found
    }
}
