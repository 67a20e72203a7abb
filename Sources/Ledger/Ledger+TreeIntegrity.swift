import Events
import Logging
import Projections
import Store

extension Ledger {
    static let treeVerifiedKey = "tree-verified-through"

    /// Refuses a log that its newest stored checkpoint does not describe: events deleted
    /// from its end, or a record changed under a signed tree head.
    ///
    /// Run at every writable open. The tree is first folded up to the log's head. Then:
    /// the newest checkpoint must verify with the ledger's key, the log must hold at least
    /// its size, and the tree's root at that size must be its root; and every leaf folded
    /// since the last open must be the hash of the record now stored (the leaves before
    /// were checked by earlier opens). On a mismatch the error names the seq, or the
    /// range between the newest checkpoint the log still matches and the first it does not.
    ///
    /// - Throws: ``LedgerError/unavailable(_:)`` saying what does not hold.
    static func checkConsistencyWithNewestCheckpoint(
        _ environment: Environment, projections: Environment, log: EventLog, checkpoints: Checkpoints, meta: Table
    ) throws(LedgerError) {
        do {
            try checkTree(environment, projections: projections, log: log, checkpoints: checkpoints, meta: meta)
        } catch .unavailable(let reason) where reason.hasPrefix(unreadableTree) {
            // The tree is a projection: one that cannot be read (rows of another layout, a
            // cut) is rebuilt from the log, whose leaves it then checks against the
            // checkpoints; a refusal here would leave no way to rebuild it.
            Log.warning("the Merkle tree cannot be read; rebuilding it", ["reason": "\(reason)"])
            try rebuild(
                [LedgerSchema.tree(projections, log: environment)], log: log, checkpoints: checkpoints, in: environment,
                projections: projections)
            try checkTree(environment, projections: projections, log: log, checkpoints: checkpoints, meta: meta)
        }
    }

    private static let unreadableTree = "the stored Merkle tree is unreadable: "

    private static func checkTree(
        _ environment: Environment, projections: Environment, log: EventLog, checkpoints: Checkpoints, meta: Table
    ) throws(LedgerError) {
        let tree = LedgerSchema.tree(projections, log: environment)
        let notes = environment.table(LedgerSchema.treeCheckpointsSpec.name)
        let refusal: String?
        do {
            // The tree first folds to the log's head (in the projections' environment);
            // then it is checked against the records and the stored checkpoints.
            let head = try environment.read { txn in try log.head(in: txn).seq }
            try projections.write { ptxn in
                let folded = try checkpoints.read(tree.name, in: ptxn)
                guard folded < head else { return }
                try environment.read { txn in
                    try log.scan(from: folded + 1, context: .minimal, in: txn) { stored in
                        try tree.apply(stored.event, in: ptxn)
                        return stored.event.seq < head
                    }
                }
                try checkpoints.write(tree.name, head, in: ptxn)
            }
            refusal = try environment.write { txn -> String? in
              try projections.read { ptxn -> String? in
                let key = Array(treeVerifiedKey.utf8)
                let verified = try txn.get(meta, key).map { bytes in
                    bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
                }
                // Leaves folded since the last check against the records they hash.
                var mismatch: UInt64?
                try log.scanRecords(from: min(verified ?? 0, head) + 1, in: txn) { seq, record in
                    guard seq <= head else { return false }
                    guard try tree.leafHash(leaf: seq - 1, in: ptxn) == MerkleHash.leaf(record) else {
                        mismatch = seq
                        return false
                    }
                    return true
                }
                if let mismatch {
                    return "the Merkle tree's leaf for seq \(mismatch) is not the hash of the record stored there: "
                        + "the record at seq \(mismatch) was changed after it was folded"
                }
                if let refusal = try checkNewestCheckpoint(
                    tree, notes: notes, head: head, in: txn, tree: ptxn, environment)
                {
                    return refusal
                }
                try txn.put(meta, key, withUnsafeBytes(of: head.bigEndian) { Array($0) })
                return nil
              }
            }
        } catch let error as MerkleTreeError {
            throw .unavailable(unreadableTree + "\(error)")
        } catch {
            throw .unavailable("cannot check the log against its checkpoints: \(error)")
        }
        if let refusal {
            throw .unavailable(
                "refusing to open the ledger for writing: \(refusal). Investigate read-only (keyledger export, "
                    + "keyledger verify-chain) or restore a backup")
        }
    }

    /// Why the log does not match its newest stored checkpoint, or nil when it does.
    private static func checkNewestCheckpoint(
        _ tree: MerkleTreeProjection, notes: Table, head: UInt64, in txn: borrowing Transaction,
        tree treeTxn: borrowing Transaction, _ environment: Environment
    ) throws -> String? {
        let stored = try txn.withCursor(notes) { cursor -> [(UInt64, String)] in
            var all: [(UInt64, String)] = []
            var entry = try cursor.first()
            while let e = entry {
                all.append(
                    (UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self)), String(decoding: e.value, as: UTF8.self)))
                entry = try cursor.next()
            }
            return all
        }
        guard let newest = stored.last else { return nil }
        let verifier = try Ledger.signer(in: environment).verifier
        let checkpoint: TreeCheckpoint
        do {
            checkpoint = try TreeCheckpoint(note: newest.1, verifier: verifier)
        } catch {
            return
                "the newest stored checkpoint (tree size \(newest.0)) does not verify with the ledger's key: \(error)"
        }
        guard checkpoint.size <= head else {
            return "the log ends at seq \(head) but a checkpoint signed the tree of \(checkpoint.size) events: "
                + "events \(head + 1) to \(checkpoint.size) were deleted"
        }
        guard try tree.root(size: checkpoint.size, in: treeTxn) != checkpoint.root else { return nil }
        // The newest checkpoint the log still matches bounds where it was changed.
        var matching: UInt64 = 0
        for (size, note) in stored.reversed().dropFirst() {
            guard let older = try? TreeCheckpoint(note: note, verifier: verifier), older.size <= head else { continue }
            if try tree.root(size: older.size, in: treeTxn) == older.root {
                matching = size
                break
            }
        }
        return "the log is not the tree of the newest checkpoint (size \(checkpoint.size)); it matches the one of "
            + "size \(matching): an event between seq \(matching + 1) and seq \(checkpoint.size) was changed"
    }

    /// The signer of the key file in `environment`'s directory.
    static func signer(in environment: Environment) throws -> NoteSigner {
        let path = environment.path + "/" + checkpointKeyFile
        guard let signer = readSigner(path) else {
            throw LedgerError.unavailable("cannot read the checkpoint key \(path)")
        }
        return signer
    }
}
