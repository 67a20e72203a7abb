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
    let notifier = CommitNotifier()
    private let lockFD: Int32

    /// Opens the ledger at `path` for writing.
    ///
    /// - Throws: ``LedgerError/unavailable(_:)`` when another process holds the ledger,
    ///   or when LMDB cannot open it (the message says why).
    public convenience init(path: String, options: LedgerOptions = .init()) throws(LedgerError) {
        try self.init(path: path, options: options, writable: true)
    }

    /// Opens the ledger at `path` for reading only; a server may be running on it.
    public static func openReadOnly(path: String, options: LedgerOptions = .init()) throws(LedgerError) -> Ledger {
        var options = options
        options.sweepInterval = nil
        return try Ledger(path: path, options: options, writable: false)
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
        guard writable else {
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
            sweepInterval: options.sweepInterval, metrics: metrics, notifier: notifier)
    }

    /// Stops the sweeper, finishes every queued command and releases the write lock.
    public func close() {
        writer?.stop()
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
