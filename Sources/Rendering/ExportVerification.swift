public import Events
import JSON

/// The offline check of an ``AuditExport``: what `keyledger verify-export` runs, needing
/// only the file, the ledger's `vkey` and, to prove the log only grew, an earlier
/// checkpoint with the consistency proof to it.
public enum ExportVerification {
    /// What a verified export holds.
    public struct Report: Sendable {
        public var checkpoint: TreeCheckpoint
        public var events: Int
        /// Pairs of neighbouring seqs whose chain link (`prevHash` = the previous `hash`)
        /// was checked.
        public var linksChecked: Int
    }

    /// Checks every line of `export` (NDJSON as ``AuditExport`` writes it): the
    /// checkpoint's signature by `verifier`; each event's record against its hash, its
    /// JSON against its record, its chain link to the previous seq when that is in the
    /// file too, and its inclusion proof against the checkpoint; and, given `previous`
    /// with `consistency`, that the checkpoint's tree extends the previous one.
    ///
    /// - Throws: ``NoteError`` naming the line, the seq or the size that fails.
    public static func verify(
        _ export: [UInt8], verifier: NoteVerifier, previous: TreeCheckpoint? = nil, consistency: [Digest] = []
    ) throws(NoteError) -> Report {
        let lines = export.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let first = lines.first, let head = try? JSONParser.parse(first).objectValue,
            let note = head["checkpoint"]?.stringValue
        else { throw NoteError("line 1 is not {\"checkpoint\": \"<note>\"}") }
        let checkpoint = try TreeCheckpoint(note: note, verifier: verifier)
        if let previous {
            guard previous.origin == checkpoint.origin else {
                throw NoteError("the previous checkpoint is of another log (\(previous.origin))")
            }
            guard
                MerkleVerification.verifyConsistency(
                    from: previous.size, to: checkpoint.size, fromRoot: previous.root, toRoot: checkpoint.root,
                    proof: consistency)
            else {
                throw NoteError(
                    "the checkpoint of size \(checkpoint.size) is not consistent with the previous one of size \(previous.size)"
                )
            }
        }
        var report = Report(checkpoint: checkpoint, events: 0, linksChecked: 0)
        var last: (seq: UInt64, hash: Digest)?
        for (index, line) in lines.dropFirst().enumerated() {
            let (seq, hash, prevHash) = try verifyEvent(Array(line), line: index + 2, in: checkpoint)
            if let last, seq <= last.seq { throw NoteError("seq \(seq) does not follow seq \(last.seq)") }
            if let last, last.seq + 1 == seq {
                guard prevHash == last.hash else {
                    throw NoteError("seq \(seq): prevHash is not the hash of seq \(last.seq)")
                }
                report.linksChecked += 1
            }
            last = (seq, hash)
            report.events += 1
        }
        return report
    }

    /// One event line: its seq, hash and prevHash once every check passed.
    static func verifyEvent(_ line: [UInt8], line number: Int, in checkpoint: TreeCheckpoint) throws(NoteError) -> (
        UInt64, Digest, Digest
    ) {
        guard let object = try? JSONParser.parse(line).objectValue, let seqValue = object["seq"]?.intValue,
            seqValue > 0, let record = object["record"]?.stringValue.flatMap({ Base64.decode($0) }),
            let prevHash = object["prevHash"]?.stringValue.flatMap(digest(hex:)),
            let hash = object["hash"]?.stringValue.flatMap(digest(hex:)),
            let proofValues = object["proof"]?.arrayValue
        else { throw NoteError("line \(number) is not an exported event with record and proof") }
        let seq = UInt64(seqValue)
        let proof = proofValues.compactMap { $0.stringValue.flatMap(digest(hex:)) }
        guard proof.count == proofValues.count else { throw NoteError("seq \(seq): a proof hash is not hex") }
        guard record.withUnsafeBytes({ ChainedRecord.isIntact(record: $0, prevHash: prevHash, hash: hash) }) else {
            throw NoteError("seq \(seq): the record does not hash to the event's hash")
        }
        // The JSON must say what the record says: rendered again from the record, the
        // line is the same bytes.
        guard let event = try? record.withUnsafeBytes({ try EventCodec.decode($0, seq: seq) }) else {
            throw NoteError("seq \(seq): the record does not decode")
        }
        var w = JSONWriter(capacity: line.count)
        EventJSON.write(event, prevHash: prevHash, hash: hash, into: &w) { w in
            w.field("record", Base64.encode(record))
            w.key("proof")
            w.beginArray()
            for hash in proof { w.string(hash.hex) }
            w.endArray()
        }
        guard w.bytes == line else { throw NoteError("seq \(seq): the event's JSON differs from its record") }
        guard seq <= checkpoint.size else {
            throw NoteError("seq \(seq) is past the checkpoint's tree (size \(checkpoint.size))")
        }
        let leaf = record.withUnsafeBytes { MerkleHash.leaf($0) }
        guard
            MerkleVerification.verifyInclusion(
                leafHash: leaf, leaf: seq - 1, size: checkpoint.size, path: proof, root: checkpoint.root)
        else {
            throw NoteError("seq \(seq): the inclusion proof does not lead to the checkpoint's root")
        }
        return (seq, hash, prevHash)
    }

    /// The digest of 64 hex digits; nil for anything else.
    public static func digest(hex: String) -> Digest? {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes.withUnsafeBytes { Digest(bytes: $0) }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
