internal import CLMDB
internal import Glibc
import Synchronization

/// How an ``Environment`` is opened.
public struct EnvironmentOptions: Sendable {
    /// The map size to start with, in bytes. The map grows by itself (doubling, capped
    /// at `maxGrowthStep` per step) whenever a write finds it full.
    public var initialMapSize: Int = 1 << 30
    /// The largest single growth step, in bytes.
    public var maxGrowthStep: Int = 8 << 30
    /// Open without write access (tools that only read, e.g. `verify-chain`).
    public var readOnly = false
    /// Commit without syncing (`MDB_NOSYNC`): for data derived from elsewhere, whose loss
    /// at an operating-system crash is repaired by deriving it again. A process crash
    /// loses nothing committed. ``Environment/sync()`` makes it durable when asked.
    public var noSync = false

    public init() {}
}

/// An LMDB environment: one data directory holding named tables.
///
/// Opening it creates the directory (mode 0700) and the data and lock files (mode
/// 0600), clears reader slots left by dead processes (`mdb_reader_check`) and opens
/// every named table, creating missing ones. Read transactions may run on any thread
/// at the same time (`MDB_NOTLS`); LMDB admits one write transaction at a time and
/// callers are expected to funnel writes through a single writer.
public final class Environment: @unchecked Sendable {
    // Safe to share: `env` is only used through LMDB calls that are thread-safe under
    // MDB_NOTLS, and map resizing is serialised against every transaction by
    // `resizeLock`. `tablesByName` is immutable after init.
    let env: OpaquePointer
    let resizeLock = ResizeLock()
    /// Writers (``write(_:)``) waiting to begin their transaction: a ``JournaledWriter``
    /// lets them in between its generations.
    let writersWaiting = Atomic<Int>(0)
    /// The thread whose ``JournaledWriter`` generation is open (0: none).
    let journalOwner = Atomic<UInt>(0)
    private let tablesByName: [String: Table]
    private let options: EnvironmentOptions
    /// The directory holding `data.mdb` and `lock.mdb`.
    public let path: String

    /// Opens (creating if needed) the environment at `path` with the given tables.
    ///
    /// - Parameters:
    ///   - path: the data directory; created with mode 0700 when missing.
    ///   - tables: every table name the caller will use; missing ones are created
    ///     unless the environment is read-only.
    /// - Throws: ``LMDBError`` when the directory, the files or a table cannot be opened.
    public init(path: String, tables: [TableSpec], options: EnvironmentOptions = .init()) throws {
        self.path = path
        self.options = options
        if !options.readOnly, mkdir(path, 0o700) != 0, errno != EEXIST {
            throw LMDBError(code: errno)
        }
        var handle: OpaquePointer?
        try LMDBError.check(mdb_env_create(&handle))
        guard let handle else { throw LMDBError(code: ENOMEM) }
        env = handle
        do {
            // Room for the tables of earlier layouts too, which ``Transaction/dropTable(named:)`` opens.
            try LMDBError.check(mdb_env_set_maxdbs(env, MDB_dbi(tables.count + 8)))
            try LMDBError.check(mdb_env_set_maxreaders(env, 1024))
            try LMDBError.check(mdb_env_set_mapsize(env, options.initialMapSize))
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            if options.noSync { flags |= UInt32(MDB_NOSYNC) }
            try LMDBError.check(mdb_env_open(env, path, flags, 0o600))
            var dead: Int32 = 0
            try LMDBError.check(mdb_reader_check(env, &dead))
            tablesByName = try Self.openTables(env, tables, create: !options.readOnly)
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    deinit { mdb_env_close(env) }

    private static func openTables(_ env: OpaquePointer, _ specs: [TableSpec], create: Bool) throws -> [String: Table] {
        var txn: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(env, nil, create ? 0 : UInt32(MDB_RDONLY), &txn))
        var result: [String: Table] = [:]
        for spec in specs {
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, spec.name, create ? UInt32(MDB_CREATE) : 0, &dbi)
            if rc != 0 {
                mdb_txn_abort(txn)
                throw LMDBError(code: rc)
            }
            result[spec.name] = Table(name: spec.name, dbi: dbi)
        }
        try LMDBError.check(mdb_txn_commit(txn))
        return result
    }

    /// The handle of a table named at init.
    ///
    /// - Precondition: `name` was in the `tables` list given to init; asking for another
    ///   name is a programming error.
    /// The handle of a table named at init, or nil for another name.
    func openedTable(_ name: String) -> Table? { tablesByName[name] }

    public func table(_ name: String) -> Table {
        guard let table = tablesByName[name] else {
            preconditionFailure("table \(name) was not opened with the environment")
        }
        return table
    }

    /// Runs `body` in a read-only transaction that sees the last committed state.
    ///
    /// The transaction, and every byte buffer it hands out, is valid only inside `body`.
    /// Any thread may call this at any time; it never waits for the writer.
    public func read<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        while true {
            do {
                return try resizeLock.withShared { () throws -> T in
                    let txn = try begin(flags: UInt32(MDB_RDONLY))
                    defer { mdb_txn_abort(txn) }
                    return try body(Transaction(txn: txn, isWritable: false))
                }
            } catch let error as LMDBError where error == .mapResized {
                try adoptForeignMapSize()
            }
        }
    }

    /// Runs `body` in a write transaction and commits it when `body` returns.
    ///
    /// `body` throwing aborts the transaction: nothing it wrote is kept. When the map
    /// fills, the transaction is aborted, the map grows and `body` runs again from the
    /// start, so `body` must have no effect outside the transaction. The commit is
    /// durable (fsync) before this returns. Only one thread should write at a time.
    public func write<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        precondition(
            journalOwner.load(ordering: .acquiring) != UInt(pthread_self()),
            "a write transaction on the thread whose journaled generation is open")
        writersWaiting.add(1, ordering: .relaxed)
        var counted = true
        defer { if counted { writersWaiting.subtract(1, ordering: .relaxed) } }
        while true {
            do {
                return try resizeLock.withShared { () throws -> T in
                    let txn = try begin(flags: 0)
                    if counted {
                        counted = false
                        writersWaiting.subtract(1, ordering: .relaxed)
                    }
                    let result: T
                    do {
                        result = try body(Transaction(txn: txn, isWritable: true))
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    try Self.checkCommit(mdb_txn_commit(txn), path: path)
                    return result
                }
            } catch let error as LMDBError where error == .mapFull {
                try grow()
            } catch let error as LMDBError where error == .mapResized {
                try adoptForeignMapSize()
            }
        }
    }

    /// Flushes every commit to disk (for an environment opened with ``EnvironmentOptions/noSync``).
    public func sync() throws {
        try LMDBError.check(mdb_env_sync(env, 1))
    }

    /// A failed commit wrote nothing that counts (LMDB keeps the old meta page). LMDB
    /// reports a short write as `EIO`, which is what a full device gives mid-write: when
    /// the device has less than a megabyte free, the `EIO` is reported as ``LMDBError/noSpace``.
    static func checkCommit(_ rc: Int32, path: String) throws(LMDBError) {
        guard rc != 0 else { return }
        if rc == EIO {
            var fs = statvfs()
            if statvfs(path, &fs) == 0, UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 1 << 20 { throw .noSpace }
        }
        throw LMDBError(code: rc)
    }

    func begin(flags: UInt32) throws -> OpaquePointer {
        var txn: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(env, nil, flags, &txn))
        guard let txn else { throw LMDBError(code: ENOMEM) }
        return txn
    }

    /// Another process grew the map (`MDB_MAP_RESIZED`): adopt its size once every
    /// transaction of this process has ended.
    func adoptForeignMapSize() throws {
        try resizeLock.withExclusive { () throws in
            try LMDBError.check(mdb_env_set_mapsize(env, 0))
        }
    }

    /// Grows the map, waiting for every transaction of this process to end first.
    func grow() throws {
        try resizeLock.withExclusive { () throws in
            var info = MDB_envinfo()
            try LMDBError.check(mdb_env_info(env, &info))
            let current = info.me_mapsize
            let next = current + min(current, options.maxGrowthStep)
            try LMDBError.check(mdb_env_set_mapsize(env, next))
        }
    }

    /// The current map size and the bytes of it in use (last page number × page size).
    public func mapUsage() throws -> (size: Int, used: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try LMDBError.check(mdb_env_info(env, &info))
        try LMDBError.check(mdb_env_stat(env, &stat))
        return (info.me_mapsize, (info.me_last_pgno + 1) * Int(stat.ms_psize))
    }

    /// Writes a consistent copy of the environment (as of one read transaction) to
    /// `path`/data.mdb, created with mode 0600 in `path` (made with mode 0700 when
    /// missing), and syncs it. Runs beside readers and the writer, in this process or
    /// another; in this process, a map growth waits until the copy is done.
    ///
    /// - Parameter compact: leave out free pages and write every table's pages in order
    ///   (`MDB_CP_COMPACT`), so the copy is smaller and its pages are contiguous.
    /// - Throws: ``LMDBError`` (`EEXIST` when `path` already holds a data.mdb); a partial
    ///   copy is removed.
    public func copy(to path: String, compact: Bool) throws {
        if mkdir(path, 0o700) != 0, errno != EEXIST { throw LMDBError(code: errno) }
        let file = path + "/data.mdb"
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { close(fd) }
        do {
            while true {
                do {
                    // Shared, so this process's map does not move under the copy's read.
                    try resizeLock.withShared { () throws in
                        try LMDBError.check(mdb_env_copyfd2(env, fd, compact ? UInt32(MDB_CP_COMPACT) : 0))
                    }
                    break
                } catch let error as LMDBError where error == .mapResized {
                    // Another process grew the map before the copy began: nothing was written.
                    try adoptForeignMapSize()
                }
            }
            guard fsync(fd) == 0 else { throw LMDBError(code: errno) }
            let directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
        } catch {
            unlink(file)
            throw error
        }
    }
}
