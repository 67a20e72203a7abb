public import Events

extension Ledger {
    /// The events after `after` whose type `wanted` marks (by raw value), decoded, and the
    /// last seq looked at (`after` when there are none); every other event is passed by
    /// its record's type byte alone, undecoded. Looks at `scanLimit` events at most,
    /// decodes `limit` at most, and stops after an event whose type `stopAfter` marks (it
    /// may change what is wanted next). A record that does not read as a known type is
    /// decoded, which says what is wrong with it.
    ///
    /// For a reader with work for a few kinds of events only (the webhook deliverer:
    /// none but webhook events while no webhook exists, and no `key.accessed` unless a
    /// webhook subscribes to it).
    public func events(
        after: UInt64, limit: Int, scanLimit: Int, wanted: [Bool], stopAfter: (EventType) -> Bool
    ) throws(LedgerError) -> (events: [Event], last: UInt64) {
        try read { txn in
            var events: [Event] = []
            var last = after
            var seen = 0
            try log.scanRecords(from: after + 1, in: txn) { seq, record in
                // The record begins with the codec's version, then the event type.
                let type = record.count >= 2 && record[0] == EventCodec.version ? EventType(rawValue: record[1]) : nil
                if type.map({ wanted[Int($0.rawValue)] }) ?? true {
                    events.append(try EventCodec.decode(record, seq: seq, context: .all))
                }
                last = seq
                seen += 1
                if let type, stopAfter(type) { return false }
                return seen < scanLimit && events.count < limit
            }
            return (events, last)
        }
    }
}
