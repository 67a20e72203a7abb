public import Events
public import Store

/// The result of checking the whole hash chain.
public struct ChainReport: Sendable, Equatable {
    /// Events checked.
    public var events: UInt64
    /// The hash of the last event (zero digest for an empty log).
    public var head: Digest
    /// The first seq that does not check out, and why; nil when intact.
    public var firstBadSeq: UInt64?
    public var reason: String?

    public var isIntact: Bool { firstBadSeq == nil }
}

extension EventLog {
    /// Walks the log from seq 1: each record must decode, sit at the next seq, link to
    /// the previous hash and hash to its stored hash.
    public func verifyChain(in txn: borrowing Transaction) throws -> ChainReport {
        var report = ChainReport(events: 0, head: .zero)
        var expectedSeq: UInt64 = 1
        var previous = Digest.zero
        try txn.withCursor(events) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                let seq = e.key.count == 8 ? UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self)) : 0
                func bad(_ reason: String) {
                    report.firstBadSeq = expectedSeq
                    report.reason = reason
                }
                guard seq == expectedSeq else {
                    bad("expected seq \(expectedSeq), found \(seq)")
                    return
                }
                guard let parts = try? ChainedRecord.split(e.value) else {
                    bad("record too short")
                    return
                }
                guard parts.prevHash == previous else {
                    bad("prevHash does not match the previous event's hash")
                    return
                }
                guard ChainedRecord.isIntact(record: parts.record, prevHash: parts.prevHash, hash: parts.hash) else {
                    bad("hash does not match the record")
                    return
                }
                do {
                    _ = try EventCodec.decode(parts.record, seq: seq)
                } catch {
                    bad("\(error)")
                    return
                }
                previous = parts.hash
                report.events = seq
                report.head = parts.hash
                expectedSeq += 1
                entry = try cursor.next()
            }
        }
        return report
    }
}
