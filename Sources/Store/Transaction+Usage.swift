internal import CLMDB

extension Transaction {
    /// The bytes of the map that `table` occupies: its branch, leaf and overflow pages
    /// times the page size (`mdb_stat`), for storage figures.
    public func storedBytes(_ table: Table) throws -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(txn, table.dbi, &stat))
        return (stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages) * Int(stat.ms_psize)
    }
}
