internal import CLMDB
internal import Glibc

/// The writes of a write transaction, recorded as they are made, so that they can be made
/// again in another transaction (``apply(_:in:of:)``): after a crash, from the
/// ``Journal``, or after a failed commit, from memory.
///
/// A record is an operation byte, the table's name and the key and value, each with its
/// length (little-endian `UInt32`). A child transaction that is undone takes its records
/// back (``Transaction/nested(_:)``).
public final class RedoLog: @unchecked Sendable {
    // Safe to share: used by the one thread that owns the write transaction recording into it.
    public private(set) var bytes: [UInt8] = []

    enum Operation: UInt8 {
        case put = 1, append = 2, delete = 3, clear = 4
    }

    public init() { bytes.reserveCapacity(64 << 10) }

    public var count: Int { bytes.count }
    public var isEmpty: Bool { bytes.isEmpty }

    /// Forgets every record, keeping the storage.
    public func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Forgets the records after the first `count` bytes (a child transaction undone).
    func truncate(to count: Int) {
        if count < bytes.count { bytes.removeSubrange(count...) }
    }

    func record(_ operation: Operation, _ table: String, _ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer?) {
        var name = table
        name.withUTF8 { name in
            let keyCount = key?.count ?? 0
            let valueCount = value?.count ?? 0
            // The parts before the value, put together on the stack, then appended with
            // the value: two copies into the records (this runs for every write) and one
            // access to them.
            let headCount = 1 + 12 + name.count + keyCount
            withUnsafeTemporaryAllocation(byteCount: headCount, alignment: 1) { head in
                head[0] = operation.rawValue
                var at = 1
                func put(_ part: UnsafeRawBufferPointer?, _ count: Int) {
                    head.storeBytes(of: UInt32(count).littleEndian, toByteOffset: at, as: UInt32.self)
                    at += 4
                    if let part, count > 0, let from = part.baseAddress, let to = head.baseAddress {
                        (to + at).copyMemory(from: from, byteCount: count)
                    }
                    at += count
                }
                put(UnsafeRawBufferPointer(name), name.count)
                put(key, keyCount)
                head.storeBytes(of: UInt32(valueCount).littleEndian, toByteOffset: at, as: UInt32.self)
                Self.append(UnsafeRawBufferPointer(head), valueCount > 0 ? value : nil, to: &bytes)
            }
        }
    }

    /// Appends a record's head and value to `bytes` (the records, passed in: one access).
    private static func append(
        _ head: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?, to bytes: inout [UInt8]
    ) {
        bytes.append(contentsOf: head)
        if let value { bytes.append(contentsOf: value) }
    }

    /// Calls `body` with the table name and key of each write recorded in `records` (a
    /// journal frame's payload), in order.
    public static func forEachWrite(
        _ records: UnsafeRawBufferPointer, _ body: (String, UnsafeRawBufferPointer) -> Void
    ) throws {
        try walk(records) { _, name, key, _ in body(name, key) }
    }

    static func walk(
        _ records: UnsafeRawBufferPointer,
        _ body: (Operation, String, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var offset = 0
        func part() throws -> UnsafeRawBufferPointer {
            guard offset + 4 <= records.count else { throw LMDBError(code: EINVAL) }
            let count = Int(UInt32(littleEndian: records.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            guard count <= records.count - offset else { throw LMDBError(code: EINVAL) }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: records[offset..<offset + count])
        }
        while offset < records.count {
            guard let operation = Operation(rawValue: records[offset]) else { throw LMDBError(code: EINVAL) }
            offset += 1
            let name = String(decoding: try part(), as: UTF8.self)
            let key = try part()
            let value = try part()
            try body(operation, name, key, value)
        }
    }

    /// Makes the writes recorded in `records` in `txn`, a write transaction of
    /// `environment` (which opened every table they name), without recording them again.
    ///
    /// - Throws: ``LMDBError`` from LMDB, or `EINVAL` when the records are malformed or
    ///   name a table the environment did not open.
    public static func apply(
        _ records: UnsafeRawBufferPointer, in txn: borrowing Transaction, of environment: Environment
    ) throws {
        try walk(records) { operation, name, key, value in
            guard let table = environment.openedTable(name) else { throw LMDBError(code: EINVAL) }
            var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            switch operation {
            case .put: try LMDBError.check(mdb_put(txn.txn, table.dbi, &k, &v, 0))
            case .append: try LMDBError.check(mdb_put(txn.txn, table.dbi, &k, &v, UInt32(MDB_APPEND)))
            case .delete:
                let rc = mdb_del(txn.txn, table.dbi, &k, nil)
                if rc != MDB_NOTFOUND { try LMDBError.check(rc) }
            case .clear: try LMDBError.check(mdb_drop(txn.txn, table.dbi, 0))
            }
        }
    }
}
