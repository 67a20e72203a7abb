public import Events
import Glibc
import Projections
import Store
import Synchronization

extension Ledger {
    /// Creates a new ledger at `path` and returns its root token, the only time it is
    /// ever shown (only its digest is stored).
    ///
    /// - Throws: ``LedgerError/conflict(_:)`` when the ledger already has a root token.
    public static func initialize(path: String, options: LedgerOptions = .init()) throws(LedgerError) -> String {
        var options = options
        options.sweepInterval = nil
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let (token, digest) = mintSecret(prefix: "kl_root_")
        do {
            try ledger.environment.write { txn in
                let key = Array(rootDigestKey.utf8)
                guard try txn.get(ledger.meta, key) == nil else {
                    throw LedgerError.conflict("\(path) already holds an initialised ledger")
                }
                try txn.put(ledger.meta, key, digest.bytes)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("cannot initialise \(path): \(error)")
        }
        return token
    }

    /// Rebuilds every projection from the log: clears their tables, then folds the
    /// log from seq 1, committing every `chunk` events with the checkpoints. An
    /// interrupted rebuild is finished by the next writer (projections catch up from
    /// their checkpoints).
    ///
    /// - Parameters:
    ///   - chunk: events per transaction at most.
    ///   - progress: called after each commit with (events folded, head seq).
    public func replay(chunk: Int = 1_000_000, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws(LedgerError) {
        projector?.pause()
        defer { projector?.resume() }
        try Self.rebuild(
            [keys] + others, log: log, checkpoints: checkpoints, in: environment, projections: projectionEnvironment,
            chunk: chunk, progress: progress)
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
        notice("moving the projections into \(LedgerSchema.projectionsDirectory)/: rebuilding them from the log")
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
        notice("projections \(names) are more than \(lag) events behind the log; rebuilding them")
        try rebuild(behind, log: log, checkpoints: checkpoints, in: environment, projections: projectionEnvironment)
    }

    /// Clears `projections` and folds the whole log into them (see ``replay(chunk:progress:)``).
    static func rebuild(
        _ projections: [any Projection], log: EventLog, checkpoints: Checkpoints, in environment: Environment,
        projections projectionEnvironment: Environment, chunk: Int = 1_000_000,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws(LedgerError) {
        let context: EventCodec.Context = projections.contains { $0.needsEventContext } ? .actorAndIP : .minimal
        do {
            try projectionEnvironment.write { txn in
                for projection in projections {
                    for table in projection.tables { try txn.clear(table) }
                    try checkpoints.write(projection.name, 0, in: txn)
                }
            }
            let headSeq = try environment.read { txn in try log.head(in: txn).seq }
            var builders = projections.map { $0.makeRebuilder() }
            let preparers = builders.map(\.preparer)
            // Three stages: reading and decoding a piece of the log (a LogChunk), then
            // preparing it (the preparers' part of the fold, each preparer on its own
            // thread), then folding and writing it here. Each stage takes the next piece as
            // soon as it is done with one, up to `depth` pieces ahead of the writes, so
            // neither core waits on a slower stage while there is work further on. Pieces
            // are far smaller than a transaction (at most 25,000 events, whose records stay
            // in the caches), so each is written while the next ones are read and
            // prepared. They start at an eighth of that and double, so the stages overlap
            // from the first few thousand events on, and shrink to half of what is left
            // near the end, so that the last piece, which nothing overlaps, is small too.
            let largest = max(1, min(chunk / 8, 25_000))
            let depth = 3
            // One decoder numbers the keys for every piece (reads run one at a time).
            let decoder = Mutex(ChunkDecoder(context: context))
            let read = { @Sendable (done: UInt64, size: Int) throws -> LogChunk in
                try environment.read { txn in
                    try decoder.withLock { decoder in
                        decoder.reserve(min(size, Int(headSeq - done)))
                        var count = 0
                        try log.scanRecords(from: done + 1, in: txn) { seq, record in
                            try decoder.add(record, seq: seq)
                            count += 1
                            return count < size && seq < headSeq
                        }
                        var piece = decoder.take()
                        piece.endsLog = piece.lastSeq.map { $0 >= headSeq } ?? true
                        return piece
                    }
                }
            }
            // A piece's read starts after the read of the piece before (it continues from
            // there); each preparer's work on it after its work on the piece before (a
            // preparer folds pieces in log order). A piece past the end reads nothing.
            func launch(after previous: Piece?) -> Piece {
                let reading = Prefetch { () throws -> LogChunk in
                    guard let previous else { return try read(0, max(1, largest / 8)) }
                    let before = try previous.read.get()
                    guard let last = before.lastSeq, last < headSeq else { return LogChunk(firstNewKey: 0) }
                    let size = max(1, min(2 * before.count, largest, max(largest / 8, Int(headSeq - last) / 2)))
                    return try read(last, size)
                }
                let preparing = preparers.indices.map { i in
                    preparers[i].map { preparer in
                        Prefetch { () throws -> any Sendable in
                            let events = try reading.get()
                            _ = try previous?.prepared[i]?.get()
                            return events.count == 0 ? () : preparer.prepare(events)
                        }
                    }
                }
                return Piece(read: reading, prepared: preparing)
            }
            var window: [Piece] = []
            var newest: Piece?
            func launchAhead() {
                while window.count < depth {
                    newest = launch(after: newest)
                    window.append(newest!)
                }
            }
            launchAhead()
            // Never leave a read running behind us (the ledger may close next).
            defer {
                for piece in window {
                    _ = try? piece.read.get()
                    for preparing in piece.prepared { _ = try? preparing?.get() }
                }
            }
            var last: UInt64 = 0
            // The last seq each builder folded: a piece leaves the window only once every
            // builder folded it, and a builder folds each piece once.
            var folded = [UInt64](repeating: 0, count: builders.count)
            while last < headSeq {
                var inTransaction = 0
                // Pieces are folded and written into one transaction until it holds
                // `chunk` events. Should the map fill, the body runs again in a new
                // transaction: it first writes again what the builders folded since the
                // last commit, then goes on with the piece it was at.
                try projectionEnvironment.write { txn in
                    // Closing when the loop below has nothing left to do (a run again).
                    let occasion: WriteOccasion = inTransaction >= chunk || last == headSeq ? .closing : .folded
                    for i in builders.indices {
                        builders[i].rewind()
                        try builders[i].write(into: txn, occasion)
                    }
                    while inTransaction < chunk, last < headSeq {
                        // While the next piece is still on its way, write what waits (what
                        // the transaction's close would write, but for rows the next pieces
                        // will likely change again) rather than wait idle.
                        if !window[0].isReady {
                            for i in builders.indices { try builders[i].write(into: txn, .idle) }
                        }
                        let piece = window[0]
                        let events = try piece.read.get()
                        guard let pieceLast = events.lastSeq else {
                            throw LedgerError.unavailable("the log ended before its head")
                        }
                        let occasion: WriteOccasion =
                            inTransaction + events.count >= chunk || pieceLast == headSeq ? .closing : .folded
                        for i in builders.indices where folded[i] < pieceLast {
                            if let preparing = piece.prepared[i] {
                                // Builders folded already write while this one's part is
                                // on its way (at the end of the log: the key state rows
                                // while the last usage hour is encoded).
                                if !preparing.isDone {
                                    for j in builders.indices where folded[j] == pieceLast {
                                        try builders[j].write(into: txn, occasion)
                                    }
                                }
                                builders[i].fold(prepared: try preparing.get())
                            } else {
                                builders[i].fold(events)
                            }
                            folded[i] = pieceLast
                        }
                        window.removeFirst()
                        launchAhead()
                        last = pieceLast
                        inTransaction += events.count
                        for i in builders.indices { try builders[i].write(into: txn, occasion) }
                    }
                    for i in builders.indices {
                        try checkpoints.write(projections[i].name, builders[i].checkpoint(after: last), in: txn)
                    }
                }
                for i in builders.indices { builders[i].committed() }
                progress(last, headSeq)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("replay failed: \(error)")
        }
    }
}

/// A piece of the log on its way through a rebuild: its read, and each builder's
/// preparation of it (nil for a builder without a preparer).
private struct Piece: Sendable {
    let read: Prefetch<LogChunk>
    let prepared: [Prefetch<any Sendable>?]

    /// True once it is read and every preparation of it is done.
    var isReady: Bool { read.isDone && prepared.allSatisfy { $0?.isDone ?? true } }
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

extension Ledger {
    /// Bulk-loads events after the head, chained, in transactions of `chunk` events,
    /// without deciding or folding them: for data generators and restores. Projections
    /// fall behind the log (their folding pauses) and the writer's decision state does not
    /// include the events: run ``replay(chunk:progress:)`` afterwards, before any command.
    ///
    /// - Parameter next: the next event (its seq is assigned here), nil at the end.
    ///   Times must not go backwards.
    /// - Returns: the new head seq.
    public func importEvents(chunk: Int = 200_000, _ next: () -> Event?) throws(LedgerError) -> UInt64 {
        projector?.pause()
        var headSeq: UInt64 = 0
        do {
            while true {
                // Pull the chunk first: the write body may run again after the map grows.
                var batch: [Event] = []
                while batch.count < chunk, let event = next() { batch.append(event) }
                if batch.isEmpty { break }
                headSeq = try environment.write { txn in
                    var head = try log.head(in: txn)
                    for var event in batch {
                        guard event.time >= head.time else {
                            throw LedgerError.invalid(field: "time", reason: "imported events must not go back in time")
                        }
                        try log.append(&event, after: &head, in: txn)
                    }
                    return head.seq
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("import failed: \(error)")
        }
        return headSeq
    }
}

extension Ledger {
    /// Writes a consistent copy of the ledger (the projections' environment, then the log's:
    /// log, root token's digest, signed checkpoints) into `path`, which must not hold a ledger yet.
    /// The copy opens as a ledger of its own. Safe while the server runs: it reads like
    /// any query and never waits for the writer.
    ///
    /// - Parameter compact: leave out free pages and lay every table out in order: a smaller
    ///   copy, whose commits are faster than an aged ledger's (LMDB reuses freed pages in
    ///   scattered places).
    /// - Returns: the copy's head.
    public func backup(to path: String, compact: Bool = true) throws(LedgerError) -> EventLog.Head {
        guard access(path + "/data.mdb", F_OK) != 0 else { throw .conflict("\(path) already holds a ledger") }
        do {
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw LedgerError.unavailable(String(cString: strerror(errno))) }
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
