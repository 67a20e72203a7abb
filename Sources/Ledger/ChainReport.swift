public import Events
public import Store

/// A place in the log up to which the hash chain was found intact: a seq and the hash
/// of the event there (``origin`` before the first event).
public struct ChainPoint: Sendable, Equatable {
    public var seq: UInt64
    public var hash: Digest

    public init(seq: UInt64, hash: Digest) {
        self.seq = seq
        self.hash = hash
    }

    /// Before seq 1: a check from here walks the whole log.
    public static let origin = ChainPoint(seq: 0, hash: .zero)

    /// The 40 bytes kept in the ledger's meta table: seq (big-endian), then hash.
    var bytes: [UInt8] { EventLog.key(seq) + hash.bytes }

    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 8 + 32, let hash = Digest(bytes: UnsafeRawBufferPointer(rebasing: bytes[8...])) else {
            return nil
        }
        self.init(seq: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)), hash: hash)
    }
}

/// The result of checking the hash chain.
public struct ChainReport: Sendable, Equatable {
    /// The head seq when the chain is intact (every event up to it checks out).
    public var events: UInt64
    /// The hash of the last event (zero digest for an empty log).
    public var head: Digest
    /// The first seq that does not check out, and why; nil when intact.
    public var firstBadSeq: UInt64?
    public var reason: String?
    /// The furthest point known good: the head when intact, else the event before the
    /// first bad one (``ChainPoint/origin`` when the point a check resumed from no longer
    /// holds).
    public var verified: ChainPoint

    public var isIntact: Bool { firstBadSeq == nil }
}

extension EventLog {
    /// Walks the log after `point` (from seq 1 for ``ChainPoint/origin``): each record
    /// must decode, sit at the next seq, link to the previous hash and hash to its stored
    /// hash. The event at `point` must still carry the point's hash and hash to it: a log
    /// cut short or rewritten at a verified point is reported at that point.
    public func verifyChain(after point: ChainPoint = .origin, in txn: borrowing Transaction) throws -> ChainReport {
        var report = ChainReport(events: point.seq, head: point.hash, verified: point)
        func bad(_ seq: UInt64, _ reason: String) {
            report.firstBadSeq = seq
            report.reason = reason
        }
        if point.seq > 0 {
            guard let stored = try txn.get(events, Self.key(point.seq)) else {
                bad(point.seq, "the event at seq \(point.seq), verified earlier, is gone: the log was cut short")
                report.verified = .origin
                return report
            }
            let holds = stored.withUnsafeBytes { value in
                guard let parts = try? ChainedRecord.split(value) else { return false }
                return parts.hash == point.hash
                    && ChainedRecord.isIntact(record: parts.record, prevHash: parts.prevHash, hash: parts.hash)
            }
            guard holds else {
                bad(point.seq, "the event at seq \(point.seq) no longer has the hash verified earlier")
                report.verified = .origin
                return report
            }
        }
        var expectedSeq = point.seq + 1
        var previous = point.hash
        try txn.withCursor(events) { cursor in
            var entry = try cursor.seek(atLeast: Self.key(expectedSeq))
            while let e = entry {
                let seq = e.key.count == 8 ? UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self)) : 0
                guard seq == expectedSeq else {
                    bad(expectedSeq, "expected seq \(expectedSeq), found \(seq)")
                    return
                }
                guard let parts = try? ChainedRecord.split(e.value) else {
                    bad(seq, "record too short")
                    return
                }
                guard parts.prevHash == previous else {
                    bad(seq, "prevHash does not match the previous event's hash")
                    return
                }
                guard ChainedRecord.isIntact(record: parts.record, prevHash: parts.prevHash, hash: parts.hash) else {
                    bad(seq, "hash does not match the record")
                    return
                }
                do {
                    _ = try EventCodec.decode(parts.record, seq: seq)
                } catch {
                    bad(seq, "\(error)")
                    return
                }
                previous = parts.hash
                report.events = seq
                report.head = parts.hash
                report.verified = ChainPoint(seq: seq, hash: parts.hash)
                expectedSeq += 1
                entry = try cursor.next()
            }
        }
        return report
    }
}
