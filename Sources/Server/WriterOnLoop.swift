public import HTTP
public import Ledger

/// The ledger's writer on the HTTP server's first event loop
/// (``HTTPServerConfiguration/loopWork``): the loop decides, syncs and answers the
/// batches its requests make, between its turns, instead of handing them to the writer's
/// thread and taking the answers back (``Ledger/attachWriter(wake:)``).
public struct WriterOnLoop: LoopWork {
    let ledger: Ledger

    public init(_ ledger: Ledger) { self.ledger = ledger }

    public func attach(wake: @escaping @Sendable () -> Void) { ledger.attachWriter(wake: wake) }
    public func runDue() { ledger.runWriterWork() }
    public func dueIn() -> UInt64 { ledger.writerWorkDueIn() }
    public func detach() { ledger.detachWriter() }
}
