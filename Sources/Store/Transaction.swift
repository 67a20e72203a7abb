internal import CLMDB
internal import Glibc

/// An LMDB transaction, valid only inside the ``Environment/read(_:)`` or
/// ``Environment/write(_:)`` closure that handed it out, and only on that closure's
/// thread.
///
/// Byte buffers returned by `get` and cursors point into the memory map: they are valid
/// until the next write in this transaction or its end, whichever comes first. Copy
/// what must outlive that.
public struct Transaction: ~Copyable {
    let txn: OpaquePointer
    /// False for read-only transactions; writes on them fail with `EACCES`.
    public let isWritable: Bool
    /// Where this transaction's writes are recorded as they are made (a journaled write,
    /// ``JournaledWriter``); nil for others.
    var redo: RedoLog? = nil

    /// The value stored under `key`, or nil when there is none.
    public func get(_ table: Table, _ key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, table.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// The value stored under `key`, copied out, or nil when there is none.
    public func get(_ table: Table, _ key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { (k) throws -> [UInt8]? in
            guard let value = try get(table, k) else { return nil }
            return [UInt8](value)
        }
    }

    /// Stores `value` under `key`, replacing any value there.
    ///
    /// - Parameter append: the key is known to sort after every key in the table
    ///   (`MDB_APPEND`); a key that does not fails with ``LMDBError/keyExists``.
    public func put(
        _ table: Table, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, append: Bool = false
    ) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        // Recorded first: a value read from this transaction may move with the write.
        let mark = redo?.count ?? 0
        redo?.record(append ? .append : .put, table.name, key, value)
        let rc = mdb_put(txn, table.dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0)
        if rc != 0 { redo?.truncate(to: mark) }
        try LMDBError.check(rc)
    }

    /// Stores `value` under `key`, replacing any value there.
    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8], append: Bool = false) throws {
        try key.withUnsafeBytes { (k) throws in
            try value.withUnsafeBytes { (v) throws in
                try put(table, k, v, append: append)
            }
        }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    public func delete(_ table: Table, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { (key) throws -> Bool in
            var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            let mark = redo?.count ?? 0
            redo?.record(.delete, table.name, key, nil)
            let rc = mdb_del(txn, table.dbi, &k, nil)
            if rc != 0 { redo?.truncate(to: mark) }
            if rc == MDB_NOTFOUND { return false }
            try LMDBError.check(rc)
            return true
        }
    }

    /// Removes every entry of `table`, keeping the table itself.
    public func clear(_ table: Table) throws {
        try LMDBError.check(mdb_drop(txn, table.dbi, 0))
        redo?.record(.clear, table.name, nil, nil)
    }

    /// Whether there is a table called `name` (one the environment may not have opened).
    public func hasTable(named name: String) throws -> Bool { try existingTable(named: name) != nil }

    /// Deletes the table called `name` and everything in it, if there is one (a table of an
    /// earlier layout: not one the environment was opened with).
    ///
    /// - Returns: whether there was such a table.
    public func dropTable(named name: String) throws -> Bool {
        precondition(redo == nil, "a journaled transaction drops no table")
        guard let dbi = try existingTable(named: name) else { return false }
        try LMDBError.check(mdb_drop(txn, dbi, 1))
        return true
    }

    /// A handle on the table called `name`, without creating it; nil when there is none.
    private func existingTable(named name: String) throws -> MDB_dbi? {
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, name, 0, &dbi)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc)
        return dbi
    }

    /// The number of entries in `table`.
    public func count(_ table: Table) throws -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(txn, table.dbi, &stat))
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `table`; the cursor is closed when `body` returns.
    public func withCursor<T, E: Error>(_ table: Table, _ body: (inout Cursor) throws(E) -> T) throws(E) -> T {
        var handle: OpaquePointer?
        let rc = mdb_cursor_open(txn, table.dbi, &handle)
        guard rc == 0, let handle else {
            // Opening a cursor fails only on a bad table handle or exhausted memory.
            preconditionFailure("mdb_cursor_open: \(LMDBError(code: rc))")
        }
        defer { mdb_cursor_close(handle) }
        var cursor = Cursor(handle: handle, table: table, redo: redo)
        return try body(&cursor)
    }
}

extension Transaction {
    /// Runs `body` in a child of this write transaction (`mdb_txn_begin` with a parent).
    ///
    /// When `body` throws, everything it wrote is undone and the parent goes on as if it
    /// had not run; when it returns, its writes join the parent (and commit with it).
    public func nested<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        var child: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(mdb_txn_env(txn), txn, 0, &child))
        guard let child else { throw LMDBError(code: ENOMEM) }
        let result: T
        let mark = redo?.count ?? 0
        do {
            result = try body(Transaction(txn: child, isWritable: true, redo: redo))
        } catch {
            mdb_txn_abort(child)
            redo?.truncate(to: mark)
            throw error
        }
        try LMDBError.check(mdb_txn_commit(child))
        return result
    }
}
