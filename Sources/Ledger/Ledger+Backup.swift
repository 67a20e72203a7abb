import Events
import Glibc
import Store

extension Ledger {
    /// Writes a consistent copy of the ledger (the projections' environment, then the log's:
    /// log, root token's digest, signed checkpoints) into `path`, which must not hold a ledger yet.
    /// The copy opens as a ledger of its own. Safe while the server runs: it reads like
    /// any query; it waits only for the writer's open generation to commit.
    ///
    /// - Parameter compact: leave out free pages and lay every table out in order: a smaller
    ///   copy, whose commits are faster than an aged ledger's (LMDB reuses freed pages in
    ///   scattered places).
    /// - Returns: the copy's head.
    public func backup(to path: String, compact: Bool = true) throws(LedgerError) -> EventLog.Head {
        guard access(path + "/data.mdb", F_OK) != 0 else { throw .conflict("\(path) already holds a ledger") }
        do {
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw LedgerError.unavailable(String(cString: strerror(errno))) }
            // In a writing process, batches acknowledged from the journal commit to the
            // log first: the copy holds every event acknowledged before the backup began.
            writer?.onWriterThread { _ in }
            // The projections first: the log copied after them holds every event they
            // include (the log only grows).
            try projectionEnvironment.copy(to: path + "/" + LedgerSchema.projectionsDirectory, compact: compact)
            try environment.copy(to: path, compact: compact)
        } catch {
            throw .unavailable("cannot back up to \(path): \(error)")
        }
        let copy = try Ledger.openReadOnly(path: path)
        defer { copy.close() }
        return try copy.head()
    }
}
