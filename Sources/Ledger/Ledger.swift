import Dispatch
import Events
import Glibc
import Logging
import Projections
public import Store
import Synchronization

/// How a ledger is opened.
public struct LedgerOptions: Sendable {
    public var clock: any LedgerClock = SystemClock()
    public var environment = EnvironmentOptions()
    /// Seconds between expiry sweeps; nil turns the sweeper off.
    public var sweepInterval: Double? = 1
    /// Called after each durable commit (head seq, batch size, commit nanoseconds).
    public var onCommit: (@Sendable (UInt64, Int, UInt64) -> Void)?
    /// A writable open that finds a projection more than this many events behind the log
    /// (an interrupted replay, an import, a deleted `projections/`) rebuilds it before
    /// serving, in large transactions, instead of having the projector fold the events one
    /// by one.
    public var rebuildLag: UInt64 = 100_000
    /// A writable open checks the hash chain from seq 1 instead of the last verified
    /// point (for a replay, which reads the whole log anyway).
    public var checkWholeChain = false
    /// Long-polls (`GET /v1/events?wait=`) that may wait at once; more are refused.
    public var maxLongPolls = 1024
    /// Lead times of `key.expiring` warnings, in seconds; empty (the default here): none.
    /// `keyledger serve` passes `--expiry-warnings` (14d,3d,1d unless told otherwise).
    public var expiryWarnings: [Int64] = []
    /// Milliseconds the writer gathers batches made durable in the journal (`DIR/journal`)
    /// before one LMDB commit makes them visible to readers; nil: no journal, each batch
    /// is its own durable LMDB commit. A device with under 1 GiB free gets no journal.
    public var journalMillis: Double? = 5
    /// Microseconds a batch smaller than the writer's last one waits for more commands
    /// before it is decided (0: none); a lone caller never waits.
    public var gatherMicros = 100
    /// Seconds the oldest event not yet folded may wait before the projections' fold leaves
    /// the idle scheduling class (in which it takes only the time the request path leaves)
    /// for nice 10 until it has caught up (a round a query waits for leaves it too); nil:
    /// the fold never uses the idle class.
    public var foldIdleClassLag: Double? = 1
    /// The nice value of the writer's thread, the one every command waits on (0: the
    /// process's); below 0 needs `CAP_SYS_NICE`.
    public var requestNice: Int32 = 0
    /// The journal file's size in bytes.
    public var journalBytes = 16 << 20
    /// The free space the device needs at open for a journal (its zeros would take room
    /// a full disk needs); below it, no journal.
    public var journalMinimumFreeBytes: UInt64 = 1 << 30

    public init() {}
}

/// An open ledger: the log, its projections and the single writer.
///
/// One process at a time may open a ledger for writing (an exclusive lock on
/// `keyledger.lock` in the data directory); read-only tools open it with
/// ``openReadOnly(path:)`` while a server runs. Reads run on the caller's thread in
/// their own transaction and never wait for the writer.
public final class Ledger: Sendable {
    /// The log's environment (the data directory): the log, settings, signed checkpoints.
    public let environment: Environment
    /// The projections' environment (`DIR/projections`): every fold of the log.
    public let projectionEnvironment: Environment
    let log: EventLog
    let keys: KeyStateProjection
    let audit: AuditIndexProjection
    let usage: UsageProjection
    let others: [any Projection]
    let checkpoints: Checkpoints
    let meta: Table
    /// The ledger's clock (injected in tests).
    public let clock: any LedgerClock
    let writer: Writer?
    /// The committed owner, plan and key-quota states of the writer (nil read-only: reads
    /// come from the quota projection then).
    let quotaSnapshot: QuotaSnapshot?
    let projector: Projector?
    /// Coalesced reads and rate-limited failed authentications (API.md "Audit completeness").
    let auditTrail = AuditTrail()
    private let auditFlusher: AuditFlusher?
    /// Counters for `/metrics`.
    public let metrics = LedgerMetrics()
    let notifier: CommitNotifier
    let chainChecker: ChainChecker
    private let lockFD: Int32

    /// Opens the ledger at `path` for writing, creating it when missing.
    ///
    /// First it checks the hash chain from the last point found intact (the whole log
    /// the first time), and records the new point: a writer never appends to a broken
    /// chain. Then it brings the projections to the log's head (rebuilding them when
    /// missing, torn by an operating-system crash, or far behind) and loads the writer's
    /// decision state from them. Open a damaged ledger with ``openReadOnly(path:options:)``
    /// to look into it.
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
            guard lockFD >= 0, Self.lockExclusively(lockFD) else {
                if lockFD >= 0 { Glibc.close(lockFD) }
                throw .unavailable("another keyledger process (serve or replay) has \(path) open for writing")
            }
        }
        self.lockFD = lockFD
        let logEnvironment: Environment
        do {
            logEnvironment = try Environment(path: path, tables: LedgerSchema.tableSpecs, options: options.environment)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw .unavailable("cannot open the ledger at \(path): \(error)")
        }
        environment = logEnvironment
        log = EventLog(environment: logEnvironment)
        meta = logEnvironment.table(LedgerSchema.metaSpec.name)
        clock = options.clock
        notifier = CommitNotifier(maxWaiters: options.maxLongPolls) { [log, logEnvironment] in
            try? logEnvironment.read { txn in try log.head(in: txn).seq }
        }
        guard writable else {
            let (meta, log) = (meta, log)
            Self.warnOfUnappliedJournal(path, logEnvironment, meta)
            let stored = try? logEnvironment.read { txn in try Self.verifiedPoint(meta: meta, in: txn) }
            chainChecker = ChainChecker(log: log, environment: logEnvironment, verified: (stored ?? nil) ?? .origin)
            writer = nil
            quotaSnapshot = nil
            auditFlusher = nil
            projector = nil
            // Projections of an earlier layout (inside the log's environment) or none at
            // all: answering from them would be wrong, and a reader cannot rebuild them.
            let projectionsPath = path + "/" + LedgerSchema.projectionsDirectory
            guard access(projectionsPath + "/data.mdb", F_OK) == 0 else {
                throw .unavailable(
                    "\(path) has no projections (\(LedgerSchema.projectionsDirectory)/ is missing or of an earlier "
                        + "layout): open it for writing once (keyledger serve or keyledger replay) to rebuild them")
            }
            do {
                projectionEnvironment = try Environment(
                    path: projectionsPath, tables: LedgerSchema.projectionTableSpecs, options: options.environment)
            } catch {
                throw .unavailable("cannot open the projections of \(path): \(error)")
            }
            (keys, audit, usage, others) = LedgerSchema.projections(projectionEnvironment, log: logEnvironment)
            checkpoints = Checkpoints(environment: projectionEnvironment)
            return
        }
        let journal: JournaledWriter
        do {
            // Batches acknowledged from the journal that LMDB did not commit yet come
            // first: everything after (the chain check, the projections) sees them.
            let applied = try JournaledWriter.recover(
                logEnvironment, directory: path, state: meta, key: LedgerSchema.journalGenerationKey)
            if applied > 0 { Log.info("applied the journal's uncommitted batches", ["batches": "\(applied)"]) }
            journal = try JournaledWriter(
                environment: logEnvironment, journal: try Self.openJournal(path, options), state: meta,
                key: LedgerSchema.journalGenerationKey)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw .unavailable("cannot apply the journal of \(path): \(error)")
        }
        do {
            let verified = try Self.checkChainAtOpen(
                path: path, log: log, meta: meta, whole: options.checkWholeChain, in: logEnvironment)
            chainChecker = ChainChecker(log: log, environment: logEnvironment, verified: verified)
            try Self.retireEarlierLayouts(path: path, in: logEnvironment)
            let found: ProjectionStore.Found
            do {
                (projectionEnvironment, found) = try ProjectionStore.openWritable(
                    dataPath: path, options: options.environment)
            } catch {
                throw LedgerError.unavailable("cannot open the projections of \(path): \(error)")
            }
            if found == .torn {
                Log.warning("the projections were not closed cleanly before the machine restarted; rebuilding them")
            }
            (keys, audit, usage, others) = LedgerSchema.projections(projectionEnvironment, log: logEnvironment)
            checkpoints = Checkpoints(environment: projectionEnvironment)
            try Self.rebuildLagging(
                [keys] + others, log: log, checkpoints: checkpoints, in: logEnvironment,
                projections: projectionEnvironment, lag: options.rebuildLag)
            try Self.prepareCheckpointKey(logEnvironment, meta: meta)
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            throw (error as? LedgerError) ?? .unavailable("cannot open the ledger at \(path): \(error)")
        }
        let projector = Projector(
            log: log, logEnvironment: logEnvironment, environment: projectionEnvironment, keys: keys, others: others,
            checkpoints: checkpoints, maxWaiters: options.maxLongPolls, idleClassLag: options.foldIdleClassLag)
        self.projector = projector
        let snapshot = QuotaSnapshot()
        quotaSnapshot = snapshot
        let executor = CommandExecutor(
            log: log, keys: keys, projections: projectionEnvironment, projector: projector,
            idempotency: IdempotencyStore(environment: logEnvironment),
            quotas: QuotaProjection(environment: projectionEnvironment), snapshot: snapshot, clock: clock,
            trail: auditTrail)
        let head: UInt64
        let log = self.log
        do {
            head = try logEnvironment.read { txn in try log.head(in: txn).seq }
            try projector.loadCheckpoint()
            try projector.catchUp(to: head)
            try Self.checkConsistencyWithNewestCheckpoint(
                logEnvironment, projections: projectionEnvironment, log: log, checkpoints: checkpoints, meta: meta)
            try projector.loadCheckpoint()
            try executor.load()
        } catch {
            if lockFD >= 0 { Glibc.close(lockFD) }
            if let error = error as? LedgerError { throw error }
            throw .unavailable("cannot bring the projections of \(path) to the log's head: \(error)")
        }
        projector.start()
        let writer = Writer(
            environment: logEnvironment, journal: journal, journalMillis: options.journalMillis ?? 0,
            gatherMicros: options.gatherMicros,
            executor: executor, projector: projector, observer: options.onCommit,
            sweepInterval: options.sweepInterval, metrics: metrics, notifier: notifier, head: head,
            nice: options.requestNice,
            warningLeads: options.expiryWarnings)
        self.writer = writer
        auditFlusher = AuditFlusher(trail: auditTrail, writer: writer, clock: clock)
    }

    /// A read-only open sees the log as of its last LMDB commit. When the last writer
    /// stopped without committing batches it acknowledged from the journal (it was killed)
    /// and none runs now, says so: a writable open applies them.
    static func warnOfUnappliedJournal(_ path: String, _ environment: Environment, _ meta: Table) {
        let frames = JournaledWriter.pendingFrames(
            environment, directory: path, state: meta, key: LedgerSchema.journalGenerationKey)
        guard frames > 0 else { return }
        let fd = open(path + "/keyledger.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        // A running writer holds the lock: its journal's batches are its open generation.
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return }
        Log.warning(
            "the journal holds acknowledged batches the log's file does not include yet: this read-only view "
                + "lacks their events until a writable open (keyledger serve) applies them",
            ["batches": "\(frames)"])
    }

    /// The journal for the writer, unless the options turn it off or the device has less
    /// free space than ``LedgerOptions/journalMinimumFreeBytes`` (1 GiB).
    static func openJournal(_ path: String, _ options: LedgerOptions) throws -> Journal? {
        guard options.journalMillis != nil else { return nil }
        var fs = statvfs()
        guard statvfs(path, &fs) == 0, UInt64(fs.f_bavail) * UInt64(fs.f_frsize) >= options.journalMinimumFreeBytes
        else { return nil }
        return try Journal(directory: path, capacity: options.journalBytes)
    }

    /// Takes the write lock, retrying for up to a second while it is held: a process that
    /// forks keeps a copy of an open lock description until its child execs, so a ledger
    /// closed and opened again at once may find its own lock briefly held.
    static func lockExclusively(_ fd: Int32) -> Bool {
        for _ in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK else { return false }
            usleep(20_000)
        }
        return false
    }

    /// Answers every waiting long-poll, lets a running chain check finish, stops the
    /// sweeper, finishes every queued command, records how far the chain was checked (a
    /// writable ledger), folds the projections to the head, syncs them and marks them
    /// closed cleanly, and releases the write lock.
    public func close() {
        notifier.stop()
        chainChecker.stop()
        if let writer {
            auditFlusher?.stop(flushingInto: writer)
            writer.stop()
            Self.recordVerifiedPoint(chainChecker.verified, meta: meta, in: environment)
        }
        if let projector {
            // Folds everything committed, then marks the projections closed cleanly.
            projector.stop()
            do {
                try ProjectionStore.markClosed(projectionEnvironment)
            } catch {
                Log.error("cannot mark the projections closed cleanly", ["reason": "\(error)"])
            }
        }
        if lockFD >= 0 { Glibc.close(lockFD) }
    }

    /// False when the ledger was opened with ``openReadOnly(path:options:)``.
    public var isWritable: Bool { writer != nil }

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
        writer.submit(.init(command: command, context: context, completion: { result, _ in completion(result) }))
    }

    /// Queues `command` like ``submit(_:context:completion:)``; `answered` also gets the
    /// log's seq after the command (its last event's; the head before it when it
    /// appended none), for `X-Ledger-Seq`.
    public func submit(
        _ command: Command, context: CommandContext,
        answered: @escaping @Sendable (consuming Result<Outcome, LedgerError>, UInt64) -> Void
    ) {
        guard let writer else {
            answered(.failure(.unavailable("the ledger is open read-only")), 0)
            return
        }
        writer.submit(.init(command: command, context: context, completion: answered))
    }

    /// The log's seq after the command whose completion runs now, when asked from that
    /// completion (on the writer's thread); nil elsewhere.
    public var seqOfAnswer: UInt64? { writer?.seqOfAnswer }

    /// Runs `command` and waits for its durable outcome, then for the projections to
    /// include it (read-your-writes for a blocking caller). Not for the writer's thread.
    public func execute(_ command: Command, context: CommandContext) throws(LedgerError) -> Outcome {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        submit(command, context: context) { result, seq in
            box.result = result
            box.seq = seq
            done.signal()
        }
        done.wait()
        try awaitProjections(upTo: box.seq)
        return try box.result.get()
    }

    /// Waits (blocking the caller) until the projections include `seq` (nil: the log's
    /// head as of now), at most `seconds`.
    ///
    /// - Throws: ``LedgerError/unavailable(_:)`` when they do not in time.
    /// Waits until the log's readers (``head()``, ``events(after:limit:)``, queries) see
    /// `seq`, by default everything acknowledged so far: the writer's journal holds the
    /// latest batches for a few milliseconds before one LMDB commit makes them readable.
    public func awaitLog(upTo seq: UInt64? = nil, seconds: Double = 30) throws(LedgerError) {
        guard let writer else { return }
        let target = seq ?? writer.committedHead
        guard writer.awaitVisible(target, seconds: seconds) else {
            throw .unavailable("the log's readers did not see seq \(target) within \(seconds) s")
        }
    }

    public func awaitProjections(upTo seq: UInt64? = nil, seconds: Double = 30) throws(LedgerError) {
        let target: UInt64
        if let seq { target = seq } else { target = try committedSeq() }
        let done = DispatchSemaphore(value: 0)
        let included = Mutex(false)
        let waiting = whenProjected(target, within: seconds) { passed in
            included.withLock { $0 = passed }
            done.signal()
        }
        guard waiting else { throw .unavailable("too many queries wait for the projections") }
        done.wait()
        guard included.withLock({ $0 }) else {
            throw .unavailable("the projections did not include seq \(target) within \(seconds) s")
        }
    }

    /// Runs `body` in a read transaction of the log's environment, mapping storage
    /// failures to `unavailable`.
    func read<T>(_ body: (borrowing Transaction) throws -> T) throws(LedgerError) -> T {
        do {
            return try environment.read(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("the ledger cannot be read: \(error)")
        }
    }

    /// Runs `body` in a read transaction of the projections' environment.
    func readProjections<T>(_ body: (borrowing Transaction) throws -> T) throws(LedgerError) -> T {
        do {
            return try projectionEnvironment.read(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("the projections cannot be read: \(error)")
        }
    }
}

/// Carries a result from the writer thread to a waiting caller; the semaphore orders
/// the write before the read.
private final class ResultBox: @unchecked Sendable {
    var result: Result<Outcome, LedgerError> = .failure(.unavailable("no answer"))
    var seq: UInt64 = 0
}
