import Events
import JSON
public import Ledger
public import Projections

/// A verifiable export (API.md "Provable audit"): NDJSON, a first line
/// `{"checkpoint": "<note>"}`, then every selected event, oldest first, with its
/// `record` (base64) and `proof` (the inclusion hashes to the checkpoint's size).
///
/// The same bytes from `GET /v1/audit/export` and `keyledger export --proofs`.
public enum AuditExport {
    /// Writes the export of the events matching `filter` in `[start, end)` that the
    /// current tree holds, a line at a time through `emit`.
    public static func write(
        _ ledger: Ledger, checkpoints: TreeCheckpoints, filter: AuditFilter, start: Int64?, end: Int64?,
        emit: ([UInt8]) -> Void
    ) throws(LedgerError) {
        let head = try ledger.treeHead()
        let note = try checkpoints.note(head)
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("checkpoint", note)
        w.endObject()
        emit(w.bytes + [0x0A])
        // Pages come newest first: collect them, then write oldest first.
        var selected: [EventLog.Stored] = []
        var before: UInt64? = head.size + 1
        while let cursor = before {
            let page = try ledger.auditPage(filter, start: start, end: end, before: cursor, limit: 1000)
            selected.append(contentsOf: page.events)
            before = page.next
        }
        selected.reverse()
        var proofs: [[Digest]] = []
        for (i, stored) in selected.enumerated() {
            if i % 4096 == 0 {
                let batch = selected[i..<min(selected.count, i + 4096)].map(\.event.seq)
                proofs = try ledger.inclusionProofs(seqs: batch, size: head.size)
            }
            let proof = proofs[i % 4096]
            w = JSONWriter(capacity: 1024)
            EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w) { w in
                w.field("record", Base64.encode(EventCodec.encode(stored.event)))
                w.key("proof")
                w.beginArray()
                for hash in proof { w.string(hash.hex) }
                w.endArray()
            }
            emit(w.bytes + [0x0A])
        }
    }
}
