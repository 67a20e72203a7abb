public import Events
public import Projections
import Store

extension Ledger {
    /// One page of events matching `filter`, newest first.
    ///
    /// - Parameters:
    ///   - start: only events at or after this time (µs), inclusive.
    ///   - end: only events before this time (µs), exclusive.
    ///   - before: only events with a smaller seq (the previous page's last seq).
    ///   - limit: at most this many.
    /// - Returns: the page and the seq to pass as `before` for the next one (nil at the end).
    public func auditPage(_ filter: AuditFilter, start: Int64?, end: Int64?, before: UInt64?, limit: Int)
        throws(LedgerError) -> (events: [EventLog.Stored], next: UInt64?)
    {
        let (head, low, high) = try read { txn -> (UInt64, UInt64, UInt64) in
            let head = try log.head(in: txn).seq
            var high = head
            if let before { high = min(high, before &- 1) }
            if let end { high = min(high, try log.lastSeq(atOrBefore: end - 1, in: txn)) }
            var low: UInt64 = 1
            if let start { low = try log.lastSeq(atOrBefore: start - 1, in: txn) + 1 }
            return (head, low, high)
        }
        guard high >= low, high > 0 else { return ([], nil) }
        // The index (projections) names the seqs; the log (its own environment, append
        // only) holds their events.
        let seqs = try readProjections { txn in
            try audit.page(filter, low: low, high: high, limit: limit + 1, head: head, in: txn)
        }
        return try read { txn in
            var events: [EventLog.Stored] = []
            for seq in seqs.prefix(limit) {
                if let stored = try log.event(at: seq, in: txn) { events.append(stored) }
            }
            return (events, seqs.count > limit ? events.last?.event.seq : nil)
        }
    }

    /// A key as it was right after the event at `seq` (or the last event at or before
    /// it): its own stream folded up to there. Nil when the key did not exist yet.
    public func state(of id: KeyID, atSeq seq: UInt64) throws(LedgerError) -> KeyState? {
        // From the latest snapshot at or before `seq`, then the rest of the stream.
        let (snapshot, stream) = try readProjections { txn in
            let snapshot = try keys.snapshot(of: id, atOrBefore: seq, in: txn)
            return (snapshot, try audit.stream(of: id, after: snapshot?.seq ?? 0, upTo: seq, in: txn))
        }
        return try read { txn in
            var state = snapshot?.state
            for s in stream {
                guard let stored = try log.event(at: s, in: txn) else { break }
                state = KeyState.evolve(state, stored.event)
            }
            return state
        }
    }

    /// A key as it was at `time` (µs): every event of its stream at or before then.
    public func state(of id: KeyID, atTime time: Int64) throws(LedgerError) -> KeyState? {
        let seq = try read { txn in try log.lastSeq(atOrBefore: time, in: txn) }
        return seq == 0 ? nil : try state(of: id, atSeq: seq)
    }
}

extension Ledger {
    /// Usage of a key over `[start, end)` in buckets of `granularity` (zero-filled).
    ///
    /// - Throws: ``LedgerError/invalid(field:reason:)`` for a range over
    ///   ``UsageProjection/maxBucketCount`` buckets.
    public func usage(of id: KeyID, start: Int64, end: Int64, granularity: UsageGranularity) throws(LedgerError)
        -> UsageReport
    {
        let count = UsageProjection.bucketCount(start: start, end: end, granularity: granularity)
        guard count <= UsageProjection.maxBucketCount else {
            throw .invalid(
                field: "granularity",
                reason:
                    "the range holds \(count) \(granularity.wireName) buckets; at most \(UsageProjection.maxBucketCount) per request: narrow the range or use a coarser granularity"
            )
        }
        return try readProjections { txn in
            // A key has no usage before it was created: its report looks up no rows before.
            let created = try keys.state(of: id, in: txn)?.createdAt
            return try usage.usage(
                of: id, start: start, end: end, granularity: granularity, activeSince: created, in: txn)
        }
    }
}
