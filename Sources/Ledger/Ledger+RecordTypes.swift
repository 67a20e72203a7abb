public import Events

extension Ledger {
    /// Looks at the events after `after` (at most `limit`) by their record's type byte
    /// alone, without decoding them: the seq of the first whose type is one of `types`
    /// (or whose record does not read as a known type: a decode then says what is wrong
    /// with it), and the last seq looked at (`after` when there are none).
    ///
    /// For a reader that has work only for a few kinds of events (the webhook deliverer
    /// with no webhook yet: only a `webhook.created` can give it any).
    public func firstEvent(after: UInt64, limit: Int, ofTypes types: Set<EventType>) throws(LedgerError) -> (
        found: UInt64?, last: UInt64
    ) {
        var wanted = [Bool](repeating: false, count: 256)
        for type in types { wanted[Int(type.rawValue)] = true }
        return try read { txn in
            var found: UInt64?
            var last = after
            var seen = 0
            try log.scanRecords(from: after + 1, in: txn) { seq, record in
                // The record begins with the codec's version, then the event type.
                let known =
                    record.count >= 2 && record[0] == EventCodec.version && EventType(rawValue: record[1]) != nil
                if !known || wanted[Int(record[1])] {
                    found = seq
                    return false
                }
                last = seq
                seen += 1
                return seen < limit
            }
            return (found, last)
        }
    }
}
