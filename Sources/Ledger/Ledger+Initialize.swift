import Events
import Store

extension Ledger {
    /// Creates a new ledger at `path` and returns its root token, the only time it is
    /// ever shown (only its digest is stored).
    ///
    /// - Throws: ``LedgerError/conflict(_:)`` when the ledger already has a root token.
    public static func initialize(path: String, options: LedgerOptions = .init()) throws(LedgerError) -> String {
        var options = options
        options.sweepInterval = nil
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let (token, digest) = mintSecret(prefix: "kl_root_")
        do {
            try ledger.environment.write { txn in
                let key = Array(rootDigestKey.utf8)
                guard try txn.get(ledger.meta, key) == nil else {
                    throw LedgerError.conflict("\(path) already holds an initialised ledger")
                }
                try txn.put(ledger.meta, key, digest.bytes)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .unavailable("cannot initialise \(path): \(error)")
        }
        return token
    }
}
