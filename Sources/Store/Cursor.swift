internal import CLMDB

/// A position in a table, ordered by key bytes (memcmp order).
///
/// Valid only inside the ``Transaction/withCursor(_:_:)`` closure that created it. Each
/// move returns the entry it lands on, or nil when it runs off either end; the buffers
/// follow the transaction's lifetime rules.
public struct Cursor {
    /// One table entry; the buffers point into the memory map.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    let handle: OpaquePointer
    let table: Table
    /// The transaction's record of its writes, if it keeps one.
    let redo: RedoLog?

    func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc)
        return (
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
        )
    }

    /// The first entry of the table.
    public mutating func first() throws -> Entry? { try move(MDB_FIRST) }
    /// The last entry of the table.
    public mutating func last() throws -> Entry? { try move(MDB_LAST) }
    /// The entry after the current one.
    public mutating func next() throws -> Entry? { try move(MDB_NEXT) }
    /// The entry before the current one.
    public mutating func previous() throws -> Entry? { try move(MDB_PREV) }

    /// The first entry whose key is greater than or equal to `key`.
    public mutating func seek(atLeast key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { (k) throws -> Entry? in try move(MDB_SET_RANGE, key: k) }
    }

    /// The last entry whose key is less than or equal to `key`.
    public mutating func seek(atMost key: [UInt8]) throws -> Entry? {
        if let entry = try seek(atLeast: key) {
            if entry.key.elementsEqual(key) { return entry }
            return try previous()
        }
        return try last()
    }

    /// The value stored under exactly `key`, the cursor left on it (`MDB_SET`); nil, the
    /// cursor unset, when there is none.
    public mutating func seek(exactly key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        try move(MDB_SET_KEY, key: key)?.value
    }

    /// Replaces the value of the entry the cursor is on (`MDB_CURRENT`), whose key is
    /// `key`: no second search of the table, and no move of the entry when the new value
    /// is as long as the old.
    public mutating func replaceCurrent(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let mark = redo?.count ?? 0
        redo?.record(.put, table.name, key, value)
        let rc = mdb_cursor_put(handle, &k, &v, UInt32(MDB_CURRENT))
        if rc != 0 { redo?.truncate(to: mark) }
        try LMDBError.check(rc)
    }

    /// Stores `value` under `key` through this cursor (`mdb_cursor_put`), leaving the
    /// cursor on it. Bulk writers keep one cursor for a run of puts instead of paying
    /// `mdb_put`'s cursor setup per row.
    ///
    /// - Parameter append: the key sorts after every key in the table (`MDB_APPEND`).
    public mutating func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, append: Bool = false)
        throws
    {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let mark = redo?.count ?? 0
        redo?.record(append ? .append : .put, table.name, key, value)
        let rc = mdb_cursor_put(handle, &k, &v, append ? UInt32(MDB_APPEND) : 0)
        if rc != 0 { redo?.truncate(to: mark) }
        try LMDBError.check(rc)
    }
}
