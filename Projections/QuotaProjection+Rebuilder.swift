import Events
import Store

extension QuotaProjection {
    /// Holds every owner, plan and key quota in memory (they are few next to events),
    /// folds each chunk with the same ``QuotaFold`` as the incremental path, and writes
    /// what changed when the transaction closes.
    struct Rebuilder: ProjectionRebuilder {
        let projection: QuotaProjection
        var rows = QuotaRows(isComplete: true)
        /// Each key number's id and owner, as the chunks named them.
        var keyIDs: [KeyID] = []
        var keyOwners: [String] = []
        /// What was written since the last commit, to write again after a rewind.
        var uncommitted = QuotaRows(isComplete: true)
        /// The first failure of the fold; thrown at the next write.
        var failure: (any Error)?

        mutating func fold(_ chunk: LogChunk) {
            keyIDs.append(contentsOf: chunk.newKeys)
            keyOwners.append(contentsOf: chunk.newOwners)
            var rows = self.rows
            var failure: (any Error)?
            let (ids, owners) = (keyIDs, keyOwners)
            chunk.forEach(
                access: { access in
                    guard access.code == .valid, failure == nil else { return }
                    let number = Int(access.key)
                    do {
                        try QuotaFold.countGrant(
                            key: ids[number], owner: owners[number], cost: access.cost, at: access.time, &rows)
                    } catch {
                        failure = error
                    }
                },
                other: { event, _ in
                    guard failure == nil else { return }
                    do { try QuotaFold.apply(event, &rows) } catch { failure = error }
                })
            self.rows = rows
            if self.failure == nil { self.failure = failure }
        }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            if let failure { throw failure }
            guard occasion == .closing else { return }
            try projection.write(rows, in: txn)
            merge(into: &uncommitted)
            rows.written()
        }

        /// Adds what `rows` changed to `target`'s changes (names and index entries).
        private func merge(into target: inout QuotaRows) {
            target.dirtyOwners.formUnion(rows.dirtyOwners)
            target.dirtyPlans.formUnion(rows.dirtyPlans)
            target.dirtyKeys.formUnion(rows.dirtyKeys)
            target.memberChanges.merge(rows.memberChanges) { $1 }
        }

        mutating func rewind() {
            // Everything written since the last commit was undone: write it again.
            for name in uncommitted.dirtyOwners { rows.dirtyOwners.insert(name) }
            for name in uncommitted.dirtyPlans { rows.dirtyPlans.insert(name) }
            for id in uncommitted.dirtyKeys { rows.dirtyKeys.insert(id) }
            rows.memberChanges.merge(uncommitted.memberChanges) { old, _ in old }
            uncommitted = QuotaRows(isComplete: true)
        }

        mutating func committed() { uncommitted = QuotaRows(isComplete: true) }
    }
}
