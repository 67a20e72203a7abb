public import Events
import Store

extension Ledger {
    /// Bulk-loads events after the head, chained, in transactions of `transactionEvents` events,
    /// without deciding or folding them: for data generators and restores. Projections
    /// fall behind the log (the projector folds the events one by one after the next
    /// command) and the writer's decision state does not include them: run
    /// ``replay(transactionEvents:progress:)`` afterwards, before any command.
    ///
    /// - Parameter next: the next event (its seq is assigned here), nil at the end.
    ///   Times must not go backwards.
    /// - Returns: the new head seq.
    public func importEvents(transactionEvents: Int = 200_000, _ next: () -> Event?) throws(LedgerError) -> UInt64 {
        var headSeq: UInt64 = 0
        do {
            while true {
                // Pull the transaction's events first: the write body may run again after the map grows.
                var batch: [Event] = []
                while batch.count < transactionEvents, let event = next() { batch.append(event) }
                if batch.isEmpty { break }
                headSeq = try environment.write { txn in
                    var head = try log.head(in: txn)
                    for var event in batch {
                        guard event.time >= head.time else {
                            throw LedgerError.invalid(field: "time", reason: "imported events must not go back in time")
                        }
                        try log.append(&event, after: &head, in: txn)
                    }
                    return head.seq
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("import failed: \(error)")
        }
        return headSeq
    }
}
