import Dispatch
import Events
import Glibc
import Projections
public import Store

/// How a ledger is opened.
public struct LedgerOptions: Sendable {
    public var clock: any LedgerClock = SystemClock()
    public var environment = EnvironmentOptions()
    /// Seconds between expiry sweeps; nil turns the sweeper off.
    public var sweepInterval: Double? = 1
    /// Called after each durable commit (head seq, batch size, commit nanoseconds).
    public var onCommit: (@Sendable (UInt64, Int, UInt64) -> Void)?
    /// A writer that finds a projection more than this many events behind the log (an
    /// interrupted replay, an import) rebuilds it before serving, in chunks, instead of
    /// catching it up inside its first transaction.
    public var rebuildLag: UInt64 = 100_000
    /// A writable open checks the hash chain from seq 1 instead of the last verified
    /// point (for a replay, which reads the whole log anyway).
    public var checkWholeChain = false
    /// Long-polls (`GET /v1/events?wait=`) that may wait at once; more are refused.
    public var maxLongPolls = 1024
    /// Lead times of `key.expiring` warnings, in seconds; empty (the default here): none.
    /// `keyledger serve` passes `--expiry-warnings` (14d,3d,1d unless told otherwise).
    public var expiryWarnings: [Int64] = []

    public init() {}
}

/// An open ledger: the log, its projections and the single writer.
///
/// One process at a time may open a ledger for writing (an exclusive lock on
/// `keyledger.lock` in the data directory); read-only tools open it with
/// ``openReadOnly(path:)`` while a server runs. Reads run on the caller's thread in
/// their own transaction and never wait for the writer.
public final class Ledger: Sendable {
    public let environment: Environment
    let log: EventLog
    let keys: KeyStateProjection
    let audit: AuditIndexProjection
    let usage: UsageProjection
    let others: [any Projection]
    let checkpoints: Checkpoints
    let meta: Table
    /// The ledger's clock (injected in tests).
    public let clock: any LedgerClock
    private let writer: Writer?
    /// Counters for `/metrics`.
    public let metrics = LedgerMetrics()
    let notifier: CommitNotifier
    let chainChecker: ChainChecker
    private let lockFD: Int32

    /// Opens the ledger at `path` for writing, creating it when missing.
    ///
    /// First it checks the hash chain from the last point found intact (the whole log
    /// the first time), and records the new point: a writer never appends to a broken
    /// chain. Open a damaged ledger with ``openReadOnly(path:options:)`` to look into it.
    ///
    /// - Throws: ``LedgerError/unavailable(_:)`` when another process holds the ledger,
    ///   when its chain is broken (naming the first bad seq), or when LMDB cannot open it
    ///   (the message says why).
    public convenience init(path: String, options: LedgerOptions = .init()) throws(LedgerError) {
        try self.init(path: path, options: options, writable: true)
    }

    /// Opens the ledger at `path` for reading only; a server may be running on it. LMDB
    /// opens it read-only too (`MDB_RDONLY`): nothing is created or changed, whatever the
    /// path holds.
    ///
    /// - Throws: ``LedgerError/notFound(_:)`` when `path` holds no ledger (see
    ///   ``requireExisting(path:)``); ``LedgerError/unavailable(_:)`` when LMDB cannot open it.
    public static func openReadOnly(path: String, options: LedgerOptions = .init()) throws(LedgerError) -> Ledger {
        try requireExisting(path: path)
        var options = options
        options.sweepInterval = nil
        options.environment.readOnly = true
        return try Ledger(path: path, options: options, writable: false)
    }

    /// Checks that `path` holds a ledger (its data file), for commands that must not
    /// create one.
    ///
    /// - Throws: ``LedgerError/notFound(_:)`` naming what is missing and what to do.
    public static func requireExisting(path: String) throws(LedgerError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw .notFound("no ledger at \(path): no such directory (check --data, or create one with keyledger init)")
        }
        guard stat(path + "/data.mdb", &st) == 0 else {
            throw .notFound(
                "no ledger in \(path): it holds no data.mdb (check --data, or create one with keyledger init)")
        }
    }

    private init(path: String, options: LedgerOptions, writable: Bool) throws(LedgerError) {
        var lockFD: Int32 = -1
        if writable {
            mkdir(path, 0o700)
            lockFD = open(path + "/keyledger.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard lockFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
                if lockFD >= 0 { Glibc.close(lockFD) }
                throw .unavailable("another keyledger process (serve or replay) has \(path) open for writing")
            }
        }
        self.lockFD = lockFD
        do {
            environment = try Environment(path: path, tables: LedgerSchema.tableSpecs, options: options.environment)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw .unavailable("cannot open the ledger at \(path): \(error)")
        }
        log = EventLog(environment: environment)
        (keys, audit, usage, others) = LedgerSchema.projections(environment)
        checkpoints = Checkpoints(environment: environment)
        meta = environment.table(LedgerSchema.metaSpec.name)
        clock = options.clock
        notifier = CommitNotifier(maxWaiters: options.maxLongPolls) { [log, environment] in
            try? environment.read { txn in try log.head(in: txn).seq }
        }
        guard writable else {
            let (environment, meta) = (environment, meta)
            let stored = try? environment.read { txn in try Self.verifiedPoint(meta: meta, in: txn) }
            chainChecker = ChainChecker(log: log, environment: environment, verified: (stored ?? nil) ?? .origin)
            writer = nil
            // Tables of an earlier layout mean the projection that replaced them is empty:
            // answering from it would be wrong, and a reader cannot rebuild it.
            let retired = try? environment.read { txn in
                try LedgerSchema.retiredTables.flatMap(\.names).filter { try txn.hasTable(named: $0) }
            }
            if let retired, !retired.isEmpty {
                throw .unavailable(
                    "\(path) holds tables of an earlier layout (\(retired.joined(separator: ", "))): open it for "
                        + "writing once (keyledger serve or keyledger replay) to rebuild them")
            }
            return
        }
        do {
            let (log, environment, meta) = (log, environment, meta)
            let verified = try Self.checkChainAtOpen(
                path: path, log: log, meta: meta, whole: options.checkWholeChain, in: environment)
            chainChecker = ChainChecker(log: log, environment: environment, verified: verified)
            try Self.retireEarlierLayouts([keys] + others, log: log, checkpoints: checkpoints, in: environment)
            try Self.rebuildLagging(
                [keys] + others, log: log, checkpoints: checkpoints, in: environment, lag: options.rebuildLag)
            try Self.prepareCheckpointKey(environment, meta: meta)
            try Self.checkConsistencyWithNewestCheckpoint(environment, log: log, checkpoints: checkpoints, meta: meta)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw error
        }
        let executor = CommandExecutor(log: log, keys: keys, others: others, checkpoints: checkpoints, clock: clock)
        writer = Writer(
            environment: environment, executor: executor, observer: options.onCommit,
            sweepInterval: options.sweepInterval, metrics: metrics, notifier: notifier,
            warningLeads: options.expiryWarnings)
    }

    /// Answers every waiting long-poll, lets a running chain check finish, stops the
    /// sweeper, finishes every queued command, records how far the chain was checked (a
    /// writable ledger) and releases the write lock.
    public func close() {
        notifier.stop()
        chainChecker.stop()
        if let writer {
            writer.stop()
            Self.recordVerifiedPoint(chainChecker.verified, meta: meta, in: environment)
        }
        if lockFD >= 0 { Glibc.close(lockFD) }
    }

    /// Queues `command`; `completion` runs on the writer thread once its batch is
    /// durable (or failed). Must not block.
    public func submit(
        _ command: Command, context: CommandContext,
        completion: @escaping @Sendable (Result<Outcome, LedgerError>) -> Void
    ) {
        guard let writer else {
            completion(.failure(.unavailable("the ledger is open read-only")))
            return
        }
        writer.submit(.init(command: command, context: context, completion: completion))
    }

    /// Runs `command` and waits for its durable outcome. Not for the writer's thread.
    public func execute(_ command: Command, context: CommandContext) throws(LedgerError) -> Outcome {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        submit(command, context: context) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result.get()
    }

    /// Runs `body` in a read transaction, mapping storage failures to `unavailable`.
    func read<T>(_ body: (borrowing Transaction) throws -> T) throws(LedgerError) -> T {
        do {
            return try environment.read(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("the ledger cannot be read: \(error)")
        }
    }
}

/// Carries a result from the writer thread to a waiting caller; the semaphore orders
/// the write before the read.
private final class ResultBox: @unchecked Sendable {
    var result: Result<Outcome, LedgerError> = .failure(.unavailable("no answer"))
}
