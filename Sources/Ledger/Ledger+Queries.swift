public import Events
import Glibc
public import Projections
import Store
import Synchronization

extension Ledger {
    /// The current state of a key, or nil.
    public func key(_ id: KeyID) throws(LedgerError) -> KeyState? {
        try readProjections { txn in try keys.state(of: id, in: txn) }
    }

    /// A page of keys, newest first; see ``KeyStateProjection/list(owner:status:before:limit:in:)``.
    /// A key's `status` is judged at the ledger's clock's now (``KeyState/status(at:)``).
    public func listKeys(owner: String?, status: KeyStatus?, before: KeyID?, limit: Int) throws(LedgerError) -> (
        keys: [KeyState], more: Bool
    ) {
        let now = clock.now()
        return try readProjections { txn in
            try keys.list(owner: owner, status: status, now: now, before: before, limit: limit, in: txn)
        }
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

    /// Events after `after`, oldest first, at most `limit`; when there are none yet, waits
    /// up to `wait` seconds for a commit (long-poll), holding no thread while it waits: the
    /// ledger's one notifier thread calls `completion` with the page on the next commit
    /// past `after`, or with an empty page at the deadline. Without a wait, or when events
    /// are there already, `completion` runs at once on the caller's thread.
    ///
    /// - Returns: false, without calling `completion`, when
    ///   ``LedgerOptions/maxLongPolls`` long-polls wait already (or the ledger is closing).
    public func events(
        after: UInt64, limit: Int, wait: Double,
        completion: @escaping @Sendable (Result<[EventLog.Stored], LedgerError>) -> Void
    ) -> Bool {
        let first = Result { () throws(LedgerError) in try events(after: after, limit: limit) }
        guard case .success(let page) = first, page.isEmpty, wait > 0 else {
            completion(first)
            return true
        }
        return notifier.wait(above: after, until: MonotonicTime.now().adding(seconds: wait)) { [self] _ in
            completion(Result { () throws(LedgerError) in try events(after: after, limit: limit) })
        }
    }

    /// Long-polls of ``events(after:limit:wait:completion:)`` waiting now.
    public var longPollsWaiting: Int { notifier.waiting }

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
        try readProjections { txn in
            var result: [String: UInt64] = [:]
            for projection in [keys as any Projection] + others {
                result[projection.name] = try checkpoints.read(projection.name, in: txn)
            }
            return result
        }
    }

    /// The last seq every projection includes (what a query's answer includes at least).
    public func projectedSeq() throws(LedgerError) -> UInt64 {
        if let projector { return projector.projected }
        return try projectionCheckpoints().values.min() ?? 0
    }

    /// The log's head seq as of the last durable commit (read from the log when another
    /// process writes it).
    public func committedSeq() throws(LedgerError) -> UInt64 {
        if let writer { return writer.committedHead }
        return try head().seq
    }

    /// Acknowledged events the log's readers do not see yet: durable in the journal, their
    /// generation not committed to LMDB (0 for a read-only ledger).
    public func unreadableEvents() -> UInt64 {
        guard let writer else { return 0 }
        let (durable, visible) = (writer.committedHead, writer.visibleHead)
        return durable > visible ? durable - visible : 0
    }

    /// Events and seconds the projections are behind the log (0 for a read-only ledger,
    /// which folds nothing).
    public func projectionLag() -> (events: UInt64, seconds: Double) {
        projector?.lag() ?? (0, 0)
    }

    /// Keys in the writer's decision state and the bytes its storage holds (capacities
    /// of its arrays and tables, interned values not counted), as of the last batch.
    public func decisionStateSize() -> (keys: Int, bytes: Int) {
        guard let writer else { return (0, 0) }
        return (writer.decisionKeys.load(ordering: .relaxed), writer.decisionBytes.load(ordering: .relaxed))
    }

    /// Calls `then` once the projections include `seq` (true) or after `seconds` (false),
    /// at once on the caller's thread when they include it already, else on the
    /// projector's notifier thread; no thread waits meanwhile. Returns false, without
    /// calling `then`, when as many queries wait already as long-polls may.
    public func whenProjected(
        _ seq: UInt64, within seconds: Double, then: @escaping @Sendable (Bool) -> Void
    ) -> Bool {
        guard let projector else {
            then(((try? projectedSeq()) ?? 0) >= seq)
            return true
        }
        if projector.projected >= seq {
            then(true)
            return true
        }
        let waiting = projector.notifier.wait(
            above: seq - 1, until: MonotonicTime.now().adding(seconds: seconds), then: then)
        if waiting {
            projector.hurry()
            // The projector folds what the log's readers see: the log's open generation first.
            if let writer, writer.visibleHead < seq { writer.hurry() }
        }
        return waiting
    }

    static let rootDigestKey = "root-token-digest"

    /// True once `keyledger init` has stored a root token.
    public func isInitialized() throws(LedgerError) -> Bool {
        try read { txn in try txn.get(meta, Array(Self.rootDigestKey.utf8)) != nil }
    }

    /// Decides `context`'s right to a read: the one question every read route asks
    /// before it reads (``Access``). For a ledger key the writer decides it, over the
    /// current state, atomically with recording the key's use (`key.accessed`), so the
    /// answer cannot change between the decision and the record; the root token and
    /// the socket are decided at once.
    ///
    /// - Parameter completion: the grant, whose ``Grant/owner`` bounds the read. Runs on
    ///   the caller's thread for administrators and on the writer's thread for ledger
    ///   keys: it must not block (hand the read to another thread).
    public func authorize(
        _ action: Action, context: CommandContext,
        completion: @escaping @Sendable (Result<Grant, LedgerError>) -> Void
    ) {
        guard context.credential != nil else {
            let use = Access.Use(ip: context.ip, endpoint: "")
            completion(
                Result { () throws(LedgerError) in
                    try Access.authorize(.administrator(context.actor), action, target: nil, use: use, now: clock.now())
                })
            return
        }
        submit(.authorize(action), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .granted(let grant) = outcome else {
                        return .failure(.unavailable("unexpected outcome"))
                    }
                    return .success(grant)
                })
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

extension Ledger {
    /// The writer's decision state for every key, as ``DecisionState/decisionView(_:)``
    /// gives it (descriptive fields empty), read on the writer's thread: for checks that
    /// it equals a fold of the log. Empty for a read-only ledger.
    func decisionViews() -> [KeyID: KeyState] {
        guard let writer else { return [:] }
        let views = Mutex<[KeyID: KeyState]>([:])
        writer.onWriterThread { executor in
            var all: [KeyID: KeyState] = [:]
            for position in 0..<executor.decisions.count {
                let view = executor.decisions.decisionView(UInt32(position))
                all[view.id] = view
            }
            views.withLock { $0 = all }
        }
        return views.withLock { $0 }
    }
}
