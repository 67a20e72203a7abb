public import Events
public import Projections
import Store
import Synchronization

/// One delivery attempt, as `GET /v1/webhooks/{id}/deliveries` lists it.
public struct DeliveryAttempt: Sendable, Equatable {
    /// Its number among the webhook's attempts, from 1 (the list's cursor).
    public var number: UInt64
    public var seq: UInt64
    public var eventID: String
    /// µs since the epoch.
    public var attemptAt: Int64
    /// The receiver's HTTP status; 0 when none came.
    public var status: Int
    public var durationMs: Int
    public var error: String?
    /// When the event is tried again; nil once delivered or given up.
    public var nextAttemptAt: Int64?
}

/// A delivery due now: the webhook's oldest undelivered event.
public struct DeliveryJob: Sendable, Equatable {
    public var webhook: Webhook
    public var seq: UInt64
    /// Failed attempts so far.
    public var failures: Int
    /// µs since the epoch of the first attempt (0 before it).
    public var firstAttemptAt: Int64
}

/// The deliveries projection, in an LMDB environment of its own (`DATA/deliveries`), so
/// its commits never hold up the log's: the subscriptions as of its checkpoint, each
/// webhook's undelivered events (webhook id, seq), every attempt, each webhook's
/// failing-since time and the redeliveries asked for. Folded from the committed log
/// (read transactions on the ledger), with its own checkpoint; deleting it loses only
/// the attempt history: the fold begins again at seq 1 and queues the events of the
/// last 3 days (older ones would have been given up).
public final class DeliveryStore: Sendable {
    static let specs = [
        TableSpec("meta"), TableSpec("hooks"), TableSpec("health"), TableSpec("pending"), TableSpec("attempts"),
        TableSpec("replays"),
    ]
    /// Attempts kept per webhook; older ones are dropped.
    public static let attemptsKept: UInt64 = 1000
    let environment: Environment
    let meta: Table
    let hooks: Table
    let health: Table
    let pending: Table
    let attemptLog: Table
    let replays: Table
    private let delivered = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)
    private let givenUp = Atomic<UInt64>(0)

    /// Opens (creating) the store at `path`.
    public init(path: String) throws {
        // Derived data, like the projections: committed without a sync. A process crash
        // loses nothing committed; an operating-system crash may take the store back to an
        // earlier commit, whose checkpoint makes the fold queue those events again
        // (duplicates, which receivers drop by webhook-id; never a lost event).
        var options = EnvironmentOptions()
        options.noSync = true
        environment = try Environment(path: path, tables: Self.specs, options: options)
        meta = environment.table("meta")
        hooks = environment.table("hooks")
        health = environment.table("health")
        pending = environment.table("pending")
        attemptLog = environment.table("attempts")
        replays = environment.table("replays")
    }

    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func i64(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func readU64(_ b: UnsafeRawBufferPointer, _ at: Int = 0) -> UInt64 {
        UInt64(bigEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    static func readI64(_ b: UnsafeRawBufferPointer, _ at: Int) -> Int64 {
        Int64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    /// The last seq folded.
    public func checkpoint() throws -> UInt64 {
        try environment.read { txn in try Self.checkpoint(meta, txn) }
    }

    static func checkpoint(_ meta: Table, _ txn: borrowing Transaction) throws -> UInt64 {
        guard let b = try txn.get(meta, Array("checkpoint".utf8)), b.count == 8 else { return 0 }
        return b.withUnsafeBytes { readU64($0) }
    }

    func allHooks(_ txn: borrowing Transaction) throws -> [Webhook] {
        var list: [Webhook] = []
        try txn.withCursor(hooks) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                list.append(try Webhook(decoding: e.value))
                entry = try cursor.next()
            }
        }
        return list
    }

    func putPending(
        _ id: WebhookID, _ seq: UInt64, failures: UInt32, first: Int64, next: Int64, _ txn: borrowing Transaction
    )
        throws
    {
        try txn.put(
            pending, id.bytes + Self.u64(seq),
            withUnsafeBytes(of: failures.littleEndian) { Array($0) } + Self.i64(first) + Self.i64(next))
    }

    /// Folds committed events (in seq order, following the checkpoint): webhook events
    /// change the subscriptions; every event is queued for each enabled subscription
    /// that wants it, unless older than `horizon` µs before `now`.
    ///
    /// - Parameter through: the seq the fold covers the log through, when the events are
    ///   only those of a stretch of it that can change anything here (``wantedTypes()``);
    ///   by default the last event's.
    public func fold(_ events: [Event], through: UInt64? = nil, now: Int64, horizon: Int64 = Backoff.giveUpMicros)
        throws
    {
        guard let last = through ?? events.last?.seq else { return }
        try environment.write { txn in
            var current = try allHooks(txn)
            for event in events {
                if let id = event.payload.webhookID {
                    let old = current.first { $0.id == id }
                    let new = Webhook.evolve(old, event)
                    current.removeAll { $0.id == id }
                    if let new {
                        current.append(new)
                        try txn.put(hooks, id.bytes, new.encoded())
                        if new.enabled, old?.enabled == false { _ = try txn.delete(health, id.bytes) }
                    } else {
                        _ = try txn.delete(hooks, id.bytes)
                        _ = try txn.delete(health, id.bytes)
                        try dropPending(id, txn)
                    }
                }
                guard event.time >= now - horizon else { continue }
                for hook in current where hook.enabled && hook.wants(event) {
                    try putPending(hook.id, event.seq, failures: 0, first: 0, next: 0, txn)
                }
            }
            try txn.put(meta, Array("checkpoint".utf8), Self.u64(last))
        }
    }

    /// The event types the fold has anything to do with, by raw value: the webhook
    /// events (they change the subscriptions) and every type an enabled subscription
    /// wants. Any other event changes nothing here until a webhook event comes.
    public func wantedTypes() throws -> [Bool] {
        var wanted = [Bool](repeating: false, count: 256)
        for type in EventType.allCases where type.isWebhookEvent { wanted[Int(type.rawValue)] = true }
        let subscriptions = try environment.read { txn in try allHooks(txn) }
        for hook in subscriptions where hook.enabled {
            for type in EventType.allCases where hook.wants(type) { wanted[Int(type.rawValue)] = true }
        }
        return wanted
    }

    func dropPending(_ id: WebhookID, _ txn: borrowing Transaction) throws {
        var keys: [[UInt8]] = []
        try txn.withCursor(pending) { cursor in
            var entry = try cursor.seek(atLeast: id.bytes)
            while let e = entry, e.key.count == 24, Array(e.key[..<16]) == id.bytes {
                keys.append(Array(e.key))
                entry = try cursor.next()
            }
        }
        for key in keys { _ = try txn.delete(pending, key) }
    }

    /// The webhooks' oldest undelivered events whose next attempt is due at `now`, for
    /// enabled webhooks not in `busy`; at most `limit`.
    public func due(now: Int64, busy: Set<WebhookID>, limit: Int) throws -> [DeliveryJob] {
        try environment.read { txn in
            var jobs: [DeliveryJob] = []
            for hook in try allHooks(txn) where hook.enabled && !busy.contains(hook.id) && jobs.count < limit {
                try txn.withCursor(pending) { cursor in
                    guard let e = try cursor.seek(atLeast: hook.id.bytes), e.key.count == 24,
                        Array(e.key[..<16]) == hook.id.bytes, e.value.count == 20
                    else { return }
                    let next = Self.readI64(e.value, 12)
                    guard next <= now else { return }
                    jobs.append(
                        DeliveryJob(
                            webhook: hook, seq: Self.readU64(UnsafeRawBufferPointer(rebasing: e.key[16...])),
                            failures: Int(UInt32(littleEndian: e.value.loadUnaligned(as: UInt32.self))),
                            firstAttemptAt: Self.readI64(e.value, 4)))
                }
            }
            return jobs
        }
    }

    /// What recording an attempt decided.
    public struct Recorded: Sendable, Equatable {
        public var nextAttemptAt: Int64?
        /// True when the webhook has failed for ``Backoff/disableMicros`` and should be
        /// disabled (once: the disabling event stops its deliveries).
        public var disable: Bool
    }

    /// Records an attempt of `job` made at `now` and moves the queue on: a success
    /// removes the event; a failure schedules the next attempt by ``Backoff``, or gives
    /// the event up after 3 days.
    @discardableResult
    public func record(_ job: DeliveryJob, eventID: String, result: DeliveryOutcome, now: Int64) throws -> Recorded {
        try environment.write { txn in
            let id = job.webhook.id
            let key = id.bytes + Self.u64(job.seq)
            // The webhook may have been deleted meanwhile, or the event redelivered.
            let stillQueued = try txn.get(pending, key) != nil
            var next: Int64?
            var disable = false
            var error = result.error
            if result.isSuccess {
                delivered.add(1, ordering: .relaxed)
                _ = try txn.delete(pending, key)
                _ = try txn.delete(health, id.bytes)
            } else {
                failed.add(1, ordering: .relaxed)
                let first = job.firstAttemptAt == 0 ? now : job.firstAttemptAt
                if now - first >= Backoff.giveUpMicros {
                    givenUp.add(1, ordering: .relaxed)
                    _ = try txn.delete(pending, key)
                    error = (error ?? "status \(result.status)") + "; given up after 3 days"
                } else if stillQueued {
                    let at = now + Backoff.delay(afterFailures: job.failures + 1) * 1_000_000
                    try putPending(id, job.seq, failures: UInt32(job.failures + 1), first: first, next: at, txn)
                    next = at
                }
                let since = try txn.get(health, id.bytes).flatMap {
                    $0.count == 8 ? $0.withUnsafeBytes { Self.readI64($0, 0) } : nil
                }
                if let since {
                    disable = now - since >= Backoff.disableMicros
                } else {
                    try txn.put(health, id.bytes, Self.i64(now))
                }
            }
            let number = try lastAttemptNumber(id, txn) + 1
            var w = BinaryWriter(capacity: 96)
            w.varint(job.seq)
            w.string(eventID)
            w.i64(now)
            w.varint(UInt64(max(0, result.status)))
            w.varint(UInt64(max(0, result.durationMs)))
            w.optionalString(error.map { String($0.prefix(300)) })
            w.optionalI64(next)
            try txn.put(attemptLog, id.bytes + Self.u64(number), w.bytes)
            if number > Self.attemptsKept {
                _ = try txn.delete(attemptLog, id.bytes + Self.u64(number - Self.attemptsKept))
            }
            return Recorded(nextAttemptAt: next, disable: disable)
        }
    }

    func lastAttemptNumber(_ id: WebhookID, _ txn: borrowing Transaction) throws -> UInt64 {
        try txn.withCursor(attemptLog) { cursor in
            guard let e = try cursor.seek(atMost: id.bytes + Self.u64(UInt64.max)), e.key.count == 24,
                Array(e.key[..<16]) == id.bytes
            else { return 0 }
            return Self.readU64(UnsafeRawBufferPointer(rebasing: e.key[16...]))
        }
    }

    /// The webhook's attempts, newest first, numbered below `before` (all when nil); at
    /// most `limit`, and whether more follow.
    public func attempts(_ id: WebhookID, before: UInt64?, limit: Int) throws -> (
        attempts: [DeliveryAttempt], more: Bool
    ) {
        try environment.read { txn in
            var list: [DeliveryAttempt] = []
            var more = false
            try txn.withCursor(attemptLog) { cursor in
                var entry = try cursor.seek(atMost: id.bytes + Self.u64((before ?? UInt64.max) &- 1))
                while let e = entry, e.key.count == 24, Array(e.key[..<16]) == id.bytes {
                    guard list.count < limit else {
                        more = true
                        return
                    }
                    var r = BinaryReader(e.value)
                    list.append(
                        DeliveryAttempt(
                            number: Self.readU64(UnsafeRawBufferPointer(rebasing: e.key[16...])), seq: try r.varint(),
                            eventID: try r.string(), attemptAt: try r.i64(), status: Int(try r.varint()),
                            durationMs: Int(try r.varint()), error: try r.optionalString(),
                            nextAttemptAt: try r.optionalI64()))
                    entry = try cursor.previous()
                }
            }
            return (list, more)
        }
    }

    /// Asks for the events after `after` (up to the checkpoint) to be delivered again to
    /// `id`; the fold queues them a chunk at a time.
    public func requestRedelivery(_ id: WebhookID, after: UInt64) throws {
        try environment.write { txn in
            let until = try Self.checkpoint(meta, txn)
            try txn.put(replays, id.bytes, Self.u64(after + 1) + Self.u64(until))
        }
    }

    /// The redeliveries under way: webhook, next seq, last seq.
    public func redeliveries() throws -> [(WebhookID, next: UInt64, until: UInt64)] {
        try environment.read { txn in
            var list: [(WebhookID, next: UInt64, until: UInt64)] = []
            try txn.withCursor(replays) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    if e.key.count == 16, e.value.count == 16, let raw = KeyID(bytes: e.key) {
                        list.append((WebhookID(raw: raw), Self.readU64(e.value), Self.readU64(e.value, 8)))
                    }
                    entry = try cursor.next()
                }
            }
            return list
        }
    }

    /// Queues `events` (a run from a redelivery's next seq) for `id` when it wants them,
    /// and moves the redelivery on to `next` (done past `until`).
    public func redeliver(_ id: WebhookID, _ events: [Event], next: UInt64, until: UInt64) throws {
        try environment.write { txn in
            guard let bytes = try txn.get(hooks, id.bytes) else {
                _ = try txn.delete(replays, id.bytes)
                return
            }
            let hook = try bytes.withUnsafeBytes { raw throws(EventDecodingError) in try Webhook(decoding: raw) }
            for event in events where event.seq <= until && hook.wants(event) {
                try putPending(id, event.seq, failures: 0, first: 0, next: 0, txn)
            }
            if next > until {
                _ = try txn.delete(replays, id.bytes)
            } else {
                try txn.put(replays, id.bytes, Self.u64(next) + Self.u64(until))
            }
        }
    }

    /// Since the store was opened: attempts delivered, attempts failed, events given up.
    public var counts: (delivered: UInt64, failed: UInt64, givenUp: UInt64) {
        (delivered.load(ordering: .relaxed), failed.load(ordering: .relaxed), givenUp.load(ordering: .relaxed))
    }

    /// Undelivered events of every webhook (one LMDB stat, no scan).
    public func queuedTotal() throws -> Int {
        try environment.read { txn in try txn.count(pending) }
    }

    /// Undelivered events of `id`.
    public func queued(_ id: WebhookID) throws -> Int {
        try environment.read { txn in
            var count = 0
            try txn.withCursor(pending) { cursor in
                var entry = try cursor.seek(atLeast: id.bytes)
                while let e = entry, e.key.count == 24, Array(e.key[..<16]) == id.bytes {
                    count += 1
                    entry = try cursor.next()
                }
            }
            return count
        }
    }
}

/// What one attempt came to (an ``Outbound`` result, or made up by a test).
public struct DeliveryOutcome: Sendable, Equatable {
    public var status: Int
    public var durationMs: Int
    public var error: String?

    public init(status: Int, durationMs: Int, error: String?) {
        self.status = status
        self.durationMs = durationMs
        self.error = error
    }

    public var isSuccess: Bool { error == nil && (200..<300).contains(status) }
}

extension EventType {
    /// The events that change webhook subscriptions.
    var isWebhookEvent: Bool {
        switch self {
        case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled: true
        default: false
        }
    }
}
