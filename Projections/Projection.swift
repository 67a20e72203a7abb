public import Events
public import Store

/// A fold of the log into tables of its own.
///
/// Projections live in an environment of their own, folded behind the log: the
/// ledger's projector calls `apply` for every committed event in seq order, many events
/// to a transaction, and writes the projection's checkpoint in that same transaction, so
/// a projection is never ahead of the log and says how far behind it is. A rebuild clears
/// ``tables`` and folds the log from the start through a ``ProjectionRebuilder``; both
/// paths must write identical rows.
public protocol Projection: Sendable {
    /// The checkpoint's name; never changes.
    var name: String { get }
    /// The tables this projection owns and a rebuild clears.
    var tables: [Table] { get }
    /// True when the fold reads the actor or ip of events (no fold reads request ids).
    var needsEventContext: Bool { get }
    /// Folds one event (in seq order) into the projection's tables.
    func apply(_ event: Event, in txn: borrowing Transaction) throws
    /// Folds a run of events (in seq order) into the projection's tables: exactly the
    /// rows ``apply(_:in:)`` over each event in turn writes. The projector folds each of
    /// its rounds through this, so a projection whose rows many of the run's events touch
    /// can read and write each row once. By default, ``apply(_:in:)`` over each.
    func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws
    /// A fresh in-memory folder for a rebuild from seq 1. By default a
    /// ``FoldingRebuilder``: ``apply(_:in:)`` over every event, so a new projection needs
    /// only its fold; a projection whose rebuild must be faster makes its own.
    func makeRebuilder() -> any ProjectionRebuilder
}

extension Projection {
    public func makeRebuilder() -> any ProjectionRebuilder { FoldingRebuilder(projection: self) }

    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        for event in events { try apply(event, in: txn) }
    }
}

/// The rebuild derived from a projection's fold: each chunk's events (decoded whole, see
/// ``needsEvents``) applied one by one with ``Projection/apply(_:in:)`` into the open
/// transaction. Keeps the events since the last commit, to write them again after a
/// rewind.
public struct FoldingRebuilder: ProjectionRebuilder {
    let projection: any Projection
    private var sinceCommit: [Event] = []
    private var written = 0

    public init(projection: any Projection) { self.projection = projection }

    public var needsEvents: Bool { true }

    public mutating func fold(_ chunk: LogChunk) { sinceCommit.append(contentsOf: chunk.events) }

    public mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
        for event in sinceCommit[written...] { try projection.apply(event, in: txn) }
        written = sinceCommit.count
    }

    public mutating func rewind() { written = 0 }

    public mutating func committed() {
        sinceCommit.removeAll(keepingCapacity: true)
        written = 0
    }
}

/// Folds a run of events in memory and writes the result in bulk.
///
/// A rebuild folds the log chunk by chunk, and writes each chunk's result into a write
/// transaction that stays open over several chunks; it commits with the checkpoints.
/// Should the map fill, the transaction is aborted and begun again: ``rewind()``, then
/// ``write(into:_:)`` writes again everything since the last commit.
public protocol ProjectionRebuilder {
    /// Part of the fold that needs neither LMDB nor what was written, which a rebuild may
    /// run on another thread, a chunk ahead; nil when there is none.
    var preparer: (any ChunkPreparer)? { get }
    /// Folds the next chunk of the log (chunks come in seq order, each from the same
    /// ``ChunkDecoder``, the last marked ``LogChunk/endsLog``); one dynamic call per
    /// chunk, not per event.
    mutating func fold(_ chunk: LogChunk)
    /// Folds the next chunk from what ``preparer`` made of it, instead of
    /// ``fold(_:)``.
    mutating func fold(prepared: any Sendable)
    /// The checkpoint to commit with what was written, the last chunk written having
    /// ended at seq `last`: `last`, unless the rebuilder holds some events' effects back
    /// for a later commit (then the seq before the first of them).
    func checkpoint(after last: UInt64) -> UInt64
    /// Writes into the open transaction what was folded since the last write into it, or
    /// some of it: until the transaction closes, a rebuilder may hold back rows that later
    /// chunks would only write again (a key's state row) or would make cheaper to write
    /// (a posting list with a few new seqs).
    mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws
    /// The open transaction was aborted: the next ``write(into:_:)`` writes everything
    /// folded since the last commit.
    mutating func rewind()
    /// The transaction committed: forgets what it wrote.
    mutating func committed()
    /// True when ``fold(_:)`` reads ``LogChunk/events`` (the rebuild decodes every event
    /// whole for it).
    var needsEvents: Bool { get }
    /// True when the fold reads ``LogChunk/leaves`` (the rebuild hashes every record as
    /// it reads it).
    var needsLeaves: Bool { get }
}

/// Why a rebuild asks its rebuilders to write.
public enum WriteOccasion: Sendable {
    /// A piece of the log was folded.
    case folded
    /// The writing thread waits for the next piece: a rebuilder writes what the close
    /// would, except rows the next pieces are likely to change again.
    case idle
    /// The transaction commits after this write: everything is written.
    case closing
}

/// The last applied sequence of each projection, kept in one table.
public struct Checkpoints: Sendable {
    public static let tableSpec = TableSpec("checkpoints")
    let table: Table

    public init(environment: Environment) { table = environment.table(Self.tableSpec.name) }

    /// The last seq `projection` has applied; 0 when none.
    public func read(_ name: String, in txn: borrowing Transaction) throws -> UInt64 {
        guard let bytes = try txn.get(table, Array(name.utf8)), bytes.count == 8 else { return 0 }
        return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    public func write(_ name: String, _ seq: UInt64, in txn: borrowing Transaction) throws {
        try txn.put(table, Array(name.utf8), withUnsafeBytes(of: seq.bigEndian) { Array($0) })
    }
}

/// The part of a rebuilder's fold that runs away from the writes.
///
/// A rebuild calls ``prepare(_:)`` once per chunk, in log order, one call at a time but
/// on another thread than the rebuilder's, and hands each result to
/// ``ProjectionRebuilder/fold(prepared:)`` in the same order.
public protocol ChunkPreparer: Sendable {
    func prepare(_ chunk: LogChunk) -> any Sendable
}

extension ProjectionRebuilder {
    public var preparer: (any ChunkPreparer)? { nil }

    public var needsEvents: Bool { false }

    public var needsLeaves: Bool { false }

    public func checkpoint(after last: UInt64) -> UInt64 { last }

    public mutating func fold(prepared: any Sendable) {
        preconditionFailure("fold(prepared:) without a preparer")
    }
}
