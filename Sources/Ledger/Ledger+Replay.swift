import Events
import Glibc
import Logging
import Projections
import Store
import Synchronization

/// Replay (every projection rebuilt from the log) and what a writable open rebuilds on its
/// own: projections of an earlier layout, missing or far behind.
extension Ledger {
    /// Rebuilds every projection from the log: clears their tables, then folds the
    /// log from seq 1, committing every `transactionEvents` events with the checkpoints. An
    /// interrupted rebuild is finished by the next writer (projections catch up from
    /// their checkpoints).
    ///
    /// - Parameters:
    ///   - transactionEvents: events per transaction at most (`--transaction-events`).
    ///   - progress: called after each commit with (events folded, head seq).
    public func replay(transactionEvents: Int = 1_000_000, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws(LedgerError) {
        projector?.pause()
        defer { projector?.resume() }
        try Self.rebuild(
            [keys] + others, log: log, checkpoints: checkpoints, in: environment, projections: projectionEnvironment,
            transactionEvents: transactionEvents, progress: progress)
        try reloadDecisions()
    }

    /// Drops the tables an earlier layout kept in the log's environment
    /// (``LedgerSchema/retiredLogTables``: projections, before they had an environment of
    /// their own) and deletes the projections' environment, which is then rebuilt.
    static func retireEarlierLayouts(path: String, in environment: Environment) throws(LedgerError) {
        let dropped: Bool
        do {
            // Commits nothing (no sync) when there is nothing to drop.
            dropped = try environment.write { txn in
                try LedgerSchema.retiredLogTables.map { try txn.dropTable(named: $0) }.contains(true)
            }
        } catch {
            throw .unavailable("cannot drop the tables of an earlier layout: \(error)")
        }
        guard dropped else { return }
        Log.warning(
            "the projections are in the log's environment (an earlier layout): rebuilding them in their own",
            ["directory": "\(LedgerSchema.projectionsDirectory)"])
        let directory = path + "/" + LedgerSchema.projectionsDirectory
        for file in ["data.mdb", "lock.mdb"] { unlink(directory + "/" + file) }
    }

    /// Rebuilds the projections more than `lag` events behind the log, saying so on stderr.
    static func rebuildLagging(
        _ projections: [any Projection], log: EventLog, checkpoints: Checkpoints, in environment: Environment,
        projections projectionEnvironment: Environment, lag: UInt64
    ) throws(LedgerError) {
        let behind: [any Projection]
        do {
            let head = try environment.read { txn in try log.head(in: txn).seq }
            behind = try projectionEnvironment.read { txn in
                try projections.filter { head - min(head, try checkpoints.read($0.name, in: txn)) > lag }
            }
        } catch {
            throw .unavailable("cannot read the projections' checkpoints: \(error)")
        }
        guard !behind.isEmpty else { return }
        let names = behind.map(\.name).joined(separator: ", ")
        Log.warning("projections are behind the log; rebuilding them", ["projections": "\(names)", "lag": "\(lag)"])
        try rebuild(behind, log: log, checkpoints: checkpoints, in: environment, projections: projectionEnvironment)
    }
}

extension Ledger {
    /// Loads the writer's decision state again from the key-state projection (which a
    /// rebuild just brought to the log's head), on the writer's thread.
    func reloadDecisions() throws(LedgerError) {
        guard let writer, let projector else { return }
        do {
            try projector.loadCheckpoint()
        } catch {
            throw .unavailable("cannot read the projections' checkpoints: \(error)")
        }
        let failure = Mutex<String?>(nil)
        writer.onWriterThread { executor in
            do {
                try executor.reload()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        if let reason = failure.withLock({ $0 }) { throw .unavailable("cannot load the decision state: \(reason)") }
    }
}
