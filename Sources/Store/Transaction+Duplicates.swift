internal import CLMDB

/// Posting lists: tables opened with ``TableSpec/duplicates``, whose keys each hold a
/// sorted list of 8-byte values.
extension Transaction {
    /// Adds `value` to the list under `key`.
    ///
    /// - Parameter append: `value` is known to sort after every value already under
    ///   `key` (`MDB_APPENDDUP`), the common case for sequence numbers.
    public func addDuplicate(_ table: Table, _ key: [UInt8], _ value: UInt64, append: Bool = true) throws {
        var big = value.bigEndian
        try key.withUnsafeBytes { k in
            try withUnsafeMutableBytes(of: &big) { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: 8, mv_data: v.baseAddress)
                let rc = mdb_put(txn, table.dbi, &kv, &vv, append ? UInt32(MDB_APPENDDUP) : 0)
                if rc == MDB_KEYEXIST, append {
                    // Already present (a replayed chunk): the list is a set.
                    return
                }
                try LMDBError.check(rc)
            }
        }
    }

    /// Adds many ascending values to the list under `key` in one call (`MDB_MULTIPLE`).
    ///
    /// - Precondition: `values` ascend and all sort after the list's current values.
    public func appendDuplicates(_ table: Table, _ key: [UInt8], _ values: [UInt64]) throws {
        guard !values.isEmpty else { return }
        // A closure, not a key path: `map(\.bigEndian)` is not specialised across modules
        // and cost a generic key-path projection per value.
        var bigs = values.map { $0.bigEndian }
        var handle: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(txn, table.dbi, &handle))
        defer { mdb_cursor_close(handle) }
        try key.withUnsafeBytes { k in
            try bigs.withUnsafeMutableBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                // MDB_MULTIPLE takes two MDB_vals: the element size and pointer, then the count.
                var pair = (MDB_val(mv_size: 8, mv_data: v.baseAddress), MDB_val(mv_size: values.count, mv_data: nil))
                try withUnsafeMutablePointer(to: &pair) { p in
                    try p.withMemoryRebound(to: MDB_val.self, capacity: 2) { vals in
                        try LMDBError.check(mdb_cursor_put(handle, &kv, vals, UInt32(MDB_MULTIPLE | MDB_APPENDDUP)))
                    }
                }
            }
        }
    }

    /// The number of values under `key`.
    public func duplicateCount(_ table: Table, _ key: [UInt8]) throws -> Int {
        try withCursor(table) { cursor in
            guard try cursor.find(key) != nil else { return 0 }
            return try cursor.duplicateCount()
        }
    }
}

extension Cursor {
    /// Adds many ascending values, given in big-endian byte order, to the list under
    /// `key` in one call (`MDB_MULTIPLE`), leaving the cursor on the list. A bulk writer
    /// keeps one cursor for every list it appends to.
    ///
    /// - Precondition: the table holds duplicates; `bigEndian` ascends (as numbers) and
    ///   sorts after every value already under `key`.
    public mutating func appendDuplicates(_ key: UnsafeRawBufferPointer, bigEndian: UnsafeBufferPointer<UInt64>)
        throws
    {
        guard let values = bigEndian.baseAddress, !bigEndian.isEmpty else { return }
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        // MDB_MULTIPLE takes two MDB_vals: the element size and pointer, then the count.
        var pair = (
            MDB_val(mv_size: 8, mv_data: UnsafeMutableRawPointer(mutating: values)),
            MDB_val(mv_size: bigEndian.count, mv_data: nil)
        )
        try withUnsafeMutablePointer(to: &pair) { p in
            try p.withMemoryRebound(to: MDB_val.self, capacity: 2) { vals in
                try LMDBError.check(mdb_cursor_put(handle, &kv, vals, UInt32(MDB_MULTIPLE | MDB_APPENDDUP)))
            }
        }
    }

    /// Positions at `key`'s first value; nil when the key is absent.
    public mutating func find(_ key: [UInt8]) throws -> UInt64? {
        try key.withUnsafeBytes { k in try value(of: move(MDB_SET_KEY, key: k)) }
    }

    /// Positions at the first value ≥ `value` under `key`; nil when there is none.
    public mutating func find(_ key: [UInt8], atLeast value: UInt64) throws -> UInt64? {
        var big = value.bigEndian
        return try key.withUnsafeBytes { k in
            try withUnsafeMutableBytes(of: &big) { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: 8, mv_data: v.baseAddress)
                let rc = mdb_cursor_get(handle, &kv, &vv, MDB_GET_BOTH_RANGE)
                if rc == MDB_NOTFOUND { return nil }
                try LMDBError.check(rc)
                return UInt64(
                    bigEndian: UnsafeRawBufferPointer(start: vv.mv_data, count: 8).loadUnaligned(as: UInt64.self))
            }
        }
    }

    /// Positions at the last value ≤ `value` under `key`; nil when there is none.
    public mutating func find(_ key: [UInt8], atMost value: UInt64) throws -> UInt64? {
        if let found = try find(key, atLeast: value) {
            return found == value ? found : try previousDuplicate()
        }
        guard try find(key) != nil else { return nil }
        return try lastDuplicate()
    }

    /// The last value under the current key.
    public mutating func lastDuplicate() throws -> UInt64? { try value(of: move(MDB_LAST_DUP)) }
    /// The value before the current one under the current key.
    public mutating func previousDuplicate() throws -> UInt64? { try value(of: move(MDB_PREV_DUP)) }
    /// The value after the current one under the current key.
    public mutating func nextDuplicate() throws -> UInt64? { try value(of: move(MDB_NEXT_DUP)) }

    /// How many values the current key holds.
    public func duplicateCount() throws -> Int {
        var n: Int = 0
        try LMDBError.check(mdb_cursor_count(handle, &n))
        return n
    }

    private func value(of entry: Entry?) -> UInt64? {
        guard let entry, entry.value.count == 8 else { return nil }
        return UInt64(bigEndian: entry.value.loadUnaligned(as: UInt64.self))
    }
}
