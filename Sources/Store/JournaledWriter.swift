internal import CLMDB
internal import CSystem
internal import Glibc
import Synchronization

/// Durable batches without an LMDB commit each: the writes of many batches gather in one
/// write transaction (a *generation*), and each batch is made durable by appending its
/// writes (``RedoLog``) to the ``Journal`` with one synced write. The generation commits
/// (one durable LMDB commit) when the caller asks (``commitGeneration()``, every few
/// milliseconds) or when the journal has no room for the next batch; then the journal
/// starts over.
///
/// Readers see a generation's writes once it commits. After a crash the frames of the
/// generation that did not commit are in the journal and ``recover(_:directory:state:key:)``
/// applies them at the next open; the generation each commit completes is stored with
/// it (under `key` of table `state`), so frames already in LMDB are not applied twice.
///
/// Without a journal (nil: a device with little room) each batch commits itself.
///
/// One thread uses it: the one that opened it. While a generation is open that thread
/// holds LMDB's write lock and must not call ``Environment/write(_:)``; the owner commits
/// the generation (``commitGeneration()``) before it lets the environment go, for LMDB's
/// lock must not be unmapped while held.
public final class JournaledWriter: @unchecked Sendable {
    // Safe to share: used by the one writer thread only.
    let environment: Environment
    let journal: Journal?
    let state: Table
    let key: [UInt8]
    /// The open generation's transaction; nil between generations and after a failure.
    private var parent: OpaquePointer?
    /// The generation the open transaction completes when it commits.
    public private(set) var generation: UInt64
    /// The records of this generation's frames in the journal, one after the other: what a
    /// new transaction must write again when the open one was lost.
    private var kept: [UInt8] = []
    /// The number of frames whose records ``kept`` holds.
    private var keptFrames = 0
    /// The most bytes of frames one generation holds before it commits.
    let maxGenerationBytes: Int
    private let redo = RedoLog()
    /// When the open generation's first batch was made durable (monotonic nanoseconds); 0 when none is.
    public private(set) var openedAt: UInt64 = 0
    /// Nanoseconds the last batch's synced write of the journal took; 0 when the last
    /// batch was not made durable by the journal (it wrote nothing, or committed).
    public private(set) var lastWriteNanos: UInt64 = 0

    /// - Parameters:
    ///   - journal: nil to commit each batch by itself.
    ///   - state, key: where each commit stores the generation it completes.
    public init(environment: Environment, journal: Journal?, state: Table, key: String) throws {
        self.environment = environment
        self.journal = journal
        self.state = state
        self.key = Array(key.utf8)
        maxGenerationBytes = (journal?.capacity ?? 0) / 2
        generation = try Self.applied(environment, state, self.key) + 1
    }

    /// True while batches made durable in the journal wait for their generation's commit.
    public var hasUncommitted: Bool { keptFrames > 0 }

    /// Runs `body` as one batch in the open generation (opening one when none is) and
    /// makes its writes durable: returns once they are in the journal, or committed.
    ///
    /// `body` throwing undoes its writes and nothing else. When the map fills, the
    /// generation's transaction is begun again (the earlier batches' writes made again
    /// from ``kept``) in a larger map and `body` runs again from its start, so `body`
    /// must have no effect outside the transaction that it does not redo.
    ///
    /// - Returns: `body`'s result and whether the generation committed with the batch.
    public func batch<T>(_ body: (borrowing Transaction) throws -> T) throws -> (T, committed: Bool) {
        try retrying { () throws -> (T, committed: Bool) in
            try open()
            guard let parent else { preconditionFailure("no open generation") }
            redo.removeAll()
            // A failure aborts the whole transaction (``retrying(_:)``); the next one writes
            // the earlier batches' writes again, from `kept`.
            let result = try body(Transaction(txn: parent, isWritable: true, redo: redo))
            lastWriteNanos = 0
            if redo.isEmpty {
                // Nothing to make durable; with nothing else open, LMDB's write lock goes back.
                if keptFrames == 0 { discard() }
                return (result, false)
            }
            if let journal, journal.fits(redo.count), kept.count + redo.count <= maxGenerationBytes {
                do {
                    let started = csys_monotonic_nanos()
                    try journal.append(redo.bytes, generation: generation)
                    lastWriteNanos = max(1, csys_monotonic_nanos() &- started)
                    kept.append(contentsOf: redo.bytes)
                    keptFrames += 1
                    if openedAt == 0 { openedAt = csys_monotonic_nanos() }
                    return (result, false)
                } catch {
                    // The journal cannot take it: the commit makes the batch durable instead.
                }
            }
            try commit()
            return (result, true)
        }
    }

    /// Commits the open generation (durably), if it holds anything; the journal starts over.
    ///
    /// - Throws: ``LMDBError`` when the commit fails: the generation's batches stay in the
    ///   journal (and in memory) and a later commit writes them again.
    public func commitGeneration() throws {
        guard keptFrames > 0 else {
            discard()
            return
        }
        try retrying {
            try open()
            try commit()
        }
    }

    /// Runs `body` until it neither fills the map nor finds it grown by another process:
    /// then the open transaction is aborted, the map adopted or grown, and `body` runs
    /// again. Any other failure aborts the open transaction too, and is thrown.
    private func retrying<T>(_ body: () throws -> T) throws -> T {
        while true {
            do {
                return try body()
            } catch let error as LMDBError where error == .mapFull {
                discard()
                try environment.grow()
            } catch let error as LMDBError where error == .mapResized {
                discard()
                try environment.adoptForeignMapSize()
            } catch {
                discard()
                throw error
            }
        }
    }

    /// Begins the generation's transaction when none is open, writing again what the
    /// generation's earlier batches wrote. Other writers waiting for LMDB's write lock
    /// go first.
    private func open() throws {
        guard parent == nil else { return }
        for _ in 0..<1000 where environment.writersWaiting.load(ordering: .relaxed) > 0 { usleep(50) }
        environment.resizeLock.lockShared()
        let txn: OpaquePointer
        do {
            txn = try environment.begin(flags: 0)
        } catch {
            environment.resizeLock.unlockShared()
            throw error
        }
        parent = txn
        environment.journalOwner.store(UInt(pthread_self()), ordering: .releasing)
        let again = Transaction(txn: txn, isWritable: true)
        // The frames' records follow each other: they are applied in one pass.
        try kept.withUnsafeBytes { try RedoLog.apply($0, in: again, of: environment) }
    }

    /// Commits the open transaction with the generation it completes.
    private func commit() throws {
        guard let txn = parent else { return }
        parent = nil
        defer {
            environment.journalOwner.store(0, ordering: .releasing)
            environment.resizeLock.unlockShared()
        }
        let done = Transaction(txn: txn, isWritable: true)
        do {
            try withUnsafeBytes(of: generation.bigEndian) { value in
                try key.withUnsafeBytes { key in try done.put(state, key, value) }
            }
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the transaction whether or not it succeeds.
        try Environment.checkCommit(mdb_txn_commit(txn), path: environment.path)
        generation += 1
        kept.removeAll(keepingCapacity: true)
        keptFrames = 0
        openedAt = 0
        journal?.restart()
    }

    /// Aborts the open transaction, if any; the frames in ``kept`` stay for the next one.
    private func discard() {
        guard let txn = parent else { return }
        parent = nil
        mdb_txn_abort(txn)
        environment.journalOwner.store(0, ordering: .releasing)
        environment.resizeLock.unlockShared()
    }

    static func applied(_ environment: Environment, _ state: Table, _ key: [UInt8]) throws -> UInt64 {
        try environment.read { txn in
            guard let bytes = try txn.get(state, key), bytes.count == 8 else { return 0 }
            return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
    }

    /// Applies the frames in the journal of `directory` that LMDB does not hold yet (of a
    /// generation after the one stored under `key` in `state`), in one durable commit.
    ///
    /// - Returns: the number of frames applied (0 when the journal held none to apply).
    @discardableResult
    public static func recover(_ environment: Environment, directory: String, state: Table, key: String) throws -> Int {
        let key = Array(key.utf8)
        guard let (generation, payloads, done) = try unapplied(environment, directory, state, key) else { return 0 }
        // A writer fills the journal with the generation after the last one committed: any
        // other is not this log's (a journal copied from elsewhere, or a log restored beside it).
        guard generation == done + 1 else { throw JournalMismatch(journal: generation, committed: done) }
        try environment.write { txn in
            for payload in payloads {
                try payload.withUnsafeBytes { try RedoLog.apply($0, in: txn, of: environment) }
            }
            try txn.put(state, key, withUnsafeBytes(of: generation.bigEndian) { Array($0) })
        }
        return payloads.count
    }

    /// A journal whose generation does not follow the log's last committed one.
    public struct JournalMismatch: Error, CustomStringConvertible {
        public let journal: UInt64
        public let committed: UInt64
        public var description: String {
            "the journal holds generation \(journal), but the log's last committed generation is \(committed) "
                + "(it needs \(committed + 1)): the journal is not this log's; move it away to open the log without it"
        }
    }

    /// The number of frames in the journal of `directory` that LMDB does not hold yet.
    public static func pendingFrames(_ environment: Environment, directory: String, state: Table, key: String) -> Int {
        ((try? unapplied(environment, directory, state, Array(key.utf8))) ?? nil)?.payloads.count ?? 0
    }

    /// The journal's frames, when they are of a generation after the last one LMDB
    /// committed (`committed`); nil otherwise.
    private static func unapplied(_ environment: Environment, _ directory: String, _ state: Table, _ key: [UInt8])
        throws -> (generation: UInt64, payloads: [[UInt8]], committed: UInt64)?
    {
        guard let (generation, payloads) = Journal.read(directory: directory) else { return nil }
        let committed = try applied(environment, state, key)
        return generation > committed ? (generation, payloads, committed) : nil
    }
}
