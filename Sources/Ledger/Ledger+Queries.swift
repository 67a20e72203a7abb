public import Events
import Glibc
public import Projections
import Store

extension Ledger {
    /// The current state of a key, or nil.
    public func key(_ id: KeyID) throws(LedgerError) -> KeyState? {
        try read { txn in try keys.state(of: id, in: txn) }
    }

    /// A page of keys, newest first; see ``KeyStateProjection/list(owner:status:before:limit:in:)``.
    public func listKeys(owner: String?, status: KeyStatus?, before: KeyID?, limit: Int) throws(LedgerError) -> (
        keys: [KeyState], more: Bool
    ) {
        try read { txn in try keys.list(owner: owner, status: status, before: before, limit: limit, in: txn) }
    }

    /// The log's head.
    public func head() throws(LedgerError) -> EventLog.Head {
        try read { txn in try log.head(in: txn) }
    }

    /// The event at `seq` with its chain links, or nil.
    public func event(at seq: UInt64) throws(LedgerError) -> EventLog.Stored? {
        try read { txn in try log.event(at: seq, in: txn) }
    }

    /// Events from `after + 1` on, oldest first, at most `limit`.
    public func events(after: UInt64, limit: Int) throws(LedgerError) -> [EventLog.Stored] {
        try read { txn in
            var page: [EventLog.Stored] = []
            try log.scan(from: after + 1, in: txn) { stored in
                page.append(stored)
                return page.count < limit
            }
            return page
        }
    }

    /// Events after `after`, waiting up to `wait` seconds for one to be committed when
    /// there is none yet (long-poll). Blocks the calling thread: not for an event loop.
    public func events(after: UInt64, limit: Int, wait: Double) throws(LedgerError) -> [EventLog.Stored] {
        let first = try events(after: after, limit: limit)
        guard first.isEmpty, wait > 0 else { return first }
        let deadline = MonotonicTime.now().adding(seconds: wait)
        while MonotonicTime.now() < deadline {
            // The notifier only learns of this process's commits; poll the log as well.
            _ = notifier.wait(
                above: max(after, try head().seq), until: min(deadline, MonotonicTime.now().adding(seconds: 0.5)))
            let page = try events(after: after, limit: limit)
            if !page.isEmpty { return page }
        }
        return []
    }

    /// Checks the whole hash chain.
    public func verifyChain() throws(LedgerError) -> ChainReport {
        try read { txn in try log.verifyChain(in: txn) }
    }

    /// True when `secret` is the root token (compared as digests, in constant time).
    public func isRootToken(_ secret: String) throws(LedgerError) -> Bool {
        guard Secret.isWellFormed(secret) else { return false }
        let digest = Secret.digest(secret)
        return try read { txn in
            guard let stored = try txn.get(meta, Array(Self.rootDigestKey.utf8)) else { return false }
            return stored.withUnsafeBytes { Digest(bytes: $0) }?.constantTimeEquals(digest) ?? false
        }
    }

    /// The last applied seq of each projection, by name.
    public func projectionCheckpoints() throws(LedgerError) -> [String: UInt64] {
        try read { txn in
            var result: [String: UInt64] = [:]
            for projection in [keys as any Projection] + others {
                result[projection.name] = try checkpoints.read(projection.name, in: txn)
            }
            return result
        }
    }

    static let rootDigestKey = "root-token-digest"

    /// True once `keyledger init` has stored a root token.
    public func isInitialized() throws(LedgerError) -> Bool {
        try read { txn in try txn.get(meta, Array(Self.rootDigestKey.utf8)) != nil }
    }

    /// Checks a management credential without recording anything (for reads, which
    /// record the use with ``Command/recordAccess`` only once they succeeded).
    ///
    /// - Returns: the credential's key, whose owner bounds what it may read.
    public func checkCredential(_ credential: ManagementCredential, ip: IPAddress?) throws(LedgerError) -> KeyState {
        let now = clock.now()
        return try read { txn in
            let (state, match) = try keys.holder(of: credential, at: now, in: txn)
            let request = VerifyRequest(scope: credential.scope, ip: ip, endpoint: credential.endpoint)
            let code = VerifyDecision.check(state, match: match, request: request, now: now)
            guard code == .valid else {
                let result = VerifyDecision.result(code: code, after: state, now: now)
                throw LedgerError.refusing(credential, code: code, retryAfterSeconds: result.retryAfterSeconds)
            }
            return state
        }
    }
}

extension Ledger {
    /// The LMDB map's size and the bytes of it in use.
    public func mapUsage() throws(LedgerError) -> (size: Int, used: Int) {
        do {
            return try environment.mapUsage()
        } catch {
            throw .unavailable("\(error)")
        }
    }
}
