import Dispatch
import Events
import Store
import Synchronization

extension Ledger {
    /// The meta row holding the last point the chain was found intact (``ChainPoint``).
    static let verifiedPointKey = "chain-verified"

    /// Checks the hash chain from the last verified point (from seq 1 when `full`) on the
    /// ledger's chain-check queue, never the caller's thread, and calls `completion`
    /// there. At most one check runs at a time; concurrent callers share it.
    public func checkChain(
        full: Bool = false, completion: @escaping @Sendable (Result<ChainReport, LedgerError>) -> Void
    ) {
        chainChecker.check(full: full, completion: completion)
    }

    /// Checks the whole hash chain from seq 1 and waits for the answer. Not for an event
    /// loop: see ``checkChain(full:completion:)``.
    public func verifyChain() throws(LedgerError) -> ChainReport {
        try wait { done in checkChain(full: true, completion: done) }
    }

    /// The point the chain was last found intact up to, stored in `meta`; nil when none is.
    static func verifiedPoint(meta: Table, in txn: borrowing Transaction) throws -> ChainPoint? {
        try Array(verifiedPointKey.utf8).withUnsafeBytes { key in
            try txn.get(meta, key).flatMap { ChainPoint(bytes: $0) }
        }
    }

    /// The check a writable open makes: the chain from the stored verified point (from
    /// seq 1 when `whole`) to the head. Stores the new point; a ledger whose disk is full still opens (the point is
    /// kept in memory and stored at close, or checked again next time).
    ///
    /// - Returns: the point now verified (the head).
    /// - Throws: ``LedgerError/unavailable(_:)`` naming the first bad seq.
    static func checkChainAtOpen(
        path: String, log: EventLog, meta: Table, whole: Bool, in environment: Environment
    ) throws(LedgerError) -> ChainPoint {
        let report: ChainReport
        do {
            report = try environment.read { txn in
                let point = whole ? nil : try verifiedPoint(meta: meta, in: txn)
                return try log.verifyChain(after: point ?? .origin, in: txn)
            }
        } catch {
            throw .unavailable("cannot check the hash chain of \(path): \(error)")
        }
        if let bad = report.firstBadSeq {
            throw .unavailable(
                "the hash chain of \(path) is broken at seq \(bad) (\(report.reason ?? "unknown")): refusing to "
                    + "open it for writing. keyledger verify-chain --data \(path) reports it; "
                    + "keyledger serve --read-only serves it for investigation, refusing writes")
        }
        recordVerifiedPoint(report.verified, meta: meta, in: environment)
        return report.verified
    }

    /// Stores `point` in `meta` unless it is stored already. Best effort: on failure (a
    /// full disk) the next writable open checks from the older point.
    static func recordVerifiedPoint(_ point: ChainPoint, meta: Table, in environment: Environment) {
        _ = try? environment.write { txn in
            guard try verifiedPoint(meta: meta, in: txn) != point else { return }
            try txn.put(meta, Array(verifiedPointKey.utf8), point.bytes)
        }
    }
}

/// Waits for a result delivered to a completion handler on another thread.
func wait<T: Sendable>(_ start: (@escaping @Sendable (Result<T, LedgerError>) -> Void) -> Void) throws(LedgerError)
    -> T
{
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<Result<T, LedgerError>?>(nil)
    start { result in
        box.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    guard let result = box.withLock({ $0 }) else { throw .unavailable("no answer") }
    return try result.get()
}
