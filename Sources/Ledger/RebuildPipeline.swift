import Events
import Glibc
import Projections
import Store
import Synchronization

extension Ledger {
    /// Clears `projections` and folds the whole log into them (see ``replay(transactionEvents:progress:)``).
    static func rebuild(
        _ projections: [any Projection], log: EventLog, checkpoints: Checkpoints, in environment: Environment,
        projections projectionEnvironment: Environment, transactionEvents: Int = 1_000_000,
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
            // Three stages: reading and decoding a chunk of the log (a LogChunk, with the
            // records' leaf hashes when the tree is rebuilt: no second read of the log), then
            // preparing it (the preparers' part of the fold, each preparer on its own
            // thread), then folding and writing it here. Each stage takes the next chunk as
            // soon as it is done with one, up to `depth` chunks ahead of the writes, so
            // neither core waits on a slower stage while there is work further on. ChunkInFlights
            // are far smaller than a transaction (at most 25,000 events, whose records stay
            // in the caches), so each is written while the next ones are read and
            // prepared. They start at an eighth of that and double, so the stages overlap
            // from the first few thousand events on, and shrink to half of what is left
            // near the end, so that the last chunk, which nothing overlaps, is small too.
            let largest = max(1, min(transactionEvents / 8, 25_000))
            let depth = 3
            // One decoder numbers the keys for every chunk (reads run one at a time).
            let decoder = Mutex(
                ChunkDecoder(
                    context: builders.contains { $0.needsEvents } ? .actorAndIP : context,
                    keepingEvents: builders.contains { $0.needsEvents },
                    hashingLeaves: builders.contains { $0.needsLeaves }))
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
                        var chunk = decoder.take()
                        chunk.endsLog = chunk.lastSeq.map { $0 >= headSeq } ?? true
                        return chunk
                    }
                }
            }
            // A chunk's read starts after the read of the chunk before (it continues from
            // there); each preparer's work on it after its work on the chunk before (a
            // preparer folds chunks in log order). A chunk past the end reads nothing.
            func launch(after previous: ChunkInFlight?) -> ChunkInFlight {
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
                return ChunkInFlight(read: reading, prepared: preparing)
            }
            var window: [ChunkInFlight] = []
            var newest: ChunkInFlight?
            func launchAhead() {
                while window.count < depth {
                    newest = launch(after: newest)
                    window.append(newest!)
                }
            }
            launchAhead()
            // Never leave a read running behind us (the ledger may close next).
            defer {
                for chunk in window {
                    _ = try? chunk.read.get()
                    for preparing in chunk.prepared { _ = try? preparing?.get() }
                }
            }
            var last: UInt64 = 0
            // The last seq each builder folded: a chunk leaves the window only once every
            // builder folded it, and a builder folds each chunk once.
            var folded = [UInt64](repeating: 0, count: builders.count)
            while last < headSeq {
                var inTransaction = 0
                // ChunkInFlights are folded and written into one transaction until it holds
                // `transactionEvents` events. Should the map fill, the body runs again in a new
                // transaction: it first writes again what the builders folded since the
                // last commit, then goes on with the chunk it was at.
                try projectionEnvironment.write { txn in
                    // Closing when the loop below has nothing left to do (a run again).
                    let occasion: WriteOccasion = inTransaction >= transactionEvents || last == headSeq ? .closing : .folded
                    for i in builders.indices {
                        builders[i].rewind()
                        try builders[i].write(into: txn, occasion)
                    }
                    while inTransaction < transactionEvents, last < headSeq {
                        // While the next chunk is still on its way, write what waits (what
                        // the transaction's close would write, but for rows the next chunks
                        // will likely change again) rather than wait idle.
                        if !window[0].isReady {
                            for i in builders.indices { try builders[i].write(into: txn, .idle) }
                        }
                        let chunk = window[0]
                        let events = try chunk.read.get()
                        guard let chunkLast = events.lastSeq else {
                            throw LedgerError.unavailable("the log ended before its head")
                        }
                        let occasion: WriteOccasion =
                            inTransaction + events.count >= transactionEvents || chunkLast == headSeq ? .closing : .folded
                        for i in builders.indices where folded[i] < chunkLast {
                            if let preparing = chunk.prepared[i] {
                                // Builders folded already write while this one's part is
                                // on its way (at the end of the log: the key state rows
                                // while the last usage hour is encoded).
                                if !preparing.isDone {
                                    for j in builders.indices where folded[j] == chunkLast {
                                        try builders[j].write(into: txn, occasion)
                                    }
                                }
                                builders[i].fold(prepared: try preparing.get())
                            } else {
                                builders[i].fold(events)
                            }
                            folded[i] = chunkLast
                        }
                        window.removeFirst()
                        launchAhead()
                        last = chunkLast
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

/// A chunk of the log (``LogChunk``) on its way through a rebuild: its read, and each builder's
/// preparation of it (nil for a builder without a preparer).
private struct ChunkInFlight: Sendable {
    let read: Prefetch<LogChunk>
    let prepared: [Prefetch<any Sendable>?]

    /// True once it is read and every preparation of it is done.
    var isReady: Bool { read.isDone && prepared.allSatisfy { $0?.isDone ?? true } }
}
