public import Events
public import Store

/// Webhook subscriptions (id -> state, owner -> ids) and the expiry warnings already
/// given (key -> the expiry and the shortest lead warned of), folded from the log like
/// every projection, so both survive a replay exactly.
public struct NotificationProjection: Projection {
    public static let tableSpecs = [TableSpec("webhooks"), TableSpec("webhook_owners"), TableSpec("expiry_warnings")]
    public let name = "notifications"
    public let needsEventContext = false
    let webhooks: Table
    let owners: Table
    let warnings: Table
    public var tables: [Table] { [webhooks, owners, warnings] }

    public init(environment: Environment) {
        webhooks = environment.table("webhooks")
        owners = environment.table("webhook_owners")
        warnings = environment.table("expiry_warnings")
    }

    /// True for the events this fold reads.
    static func reads(_ event: Event) -> Bool {
        switch event.payload {
        case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled, .expiring:
            true
        case .updated(let u): u.expiresAt != nil
        default: false
        }
    }

    /// Folds the few events of a run that ``reads(_:)``, told apart by type first: the
    /// rest (accesses, nearly every event) are not copied to be looked at.
    public func apply(contentsOf events: ArraySlice<Event>, in txn: borrowing Transaction) throws {
        for i in events.indices {
            switch events[i].type {
            case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled, .expiring,
                .updated:
                try apply(events[i], in: txn)
            default: continue
            }
        }
    }

    public func apply(_ event: Event, in txn: borrowing Transaction) throws {
        guard Self.reads(event) else { return }
        switch event.payload {
        case .expiring(let expiresAt, let lead):
            var w = BinaryWriter(capacity: 16)
            w.i64(expiresAt)
            w.i64(lead)
            try txn.put(warnings, event.keyID.bytes, w.bytes)
        case .updated:
            // A new expiry starts its warnings afresh.
            _ = try txn.delete(warnings, event.keyID.bytes)
        default:
            guard let id = event.payload.webhookID else { return }
            let old = try webhook(id, in: txn)
            let new = Webhook.evolve(old, event)
            if let new {
                try txn.put(webhooks, id.bytes, new.encoded())
                if old == nil { try txn.put(owners, Self.ownerKey(new.owner, id), []) }
            } else if let old {
                _ = try txn.delete(webhooks, id.bytes)
                _ = try txn.delete(owners, Self.ownerKey(old.owner, id))
            }
        }
    }

    static func ownerKey(_ owner: String, _ id: WebhookID) -> [UInt8] {
        [UInt8(owner.utf8.count)] + Array(owner.utf8) + id.bytes
    }

    /// The webhook `id`, or nil when there is none (never created, or deleted).
    public func webhook(_ id: WebhookID, in txn: borrowing Transaction) throws -> Webhook? {
        guard let bytes = try txn.get(webhooks, id.bytes) else { return nil }
        return try bytes.withUnsafeBytes { raw throws(EventDecodingError) in try Webhook(decoding: raw) }
    }

    /// Webhooks by id, of one owner or of all, after `after`; at most `limit`, and whether
    /// more follow.
    public func list(owner: String?, after: WebhookID?, limit: Int, in txn: borrowing Transaction) throws -> (
        webhooks: [Webhook], more: Bool
    ) {
        var page: [Webhook] = []
        var more = false
        if let owner {
            let prefix = [UInt8(owner.utf8.count)] + Array(owner.utf8)
            try txn.withCursor(owners) { cursor in
                var entry = try cursor.seek(atLeast: after.map { Self.ownerKey(owner, $0) + [0] } ?? prefix)
                while let e = entry, e.key.count == prefix.count + 16, e.key.starts(with: prefix) {
                    guard page.count < limit else {
                        more = true
                        return
                    }
                    if let raw = KeyID(bytes: UnsafeRawBufferPointer(rebasing: e.key[prefix.count...])),
                        let hook = try webhook(WebhookID(raw: raw), in: txn)
                    {
                        page.append(hook)
                    }
                    entry = try cursor.next()
                }
            }
        } else {
            try txn.withCursor(webhooks) { cursor in
                var entry = try after.map { try cursor.seek(atLeast: $0.bytes + [0]) } ?? cursor.first()
                while let e = entry {
                    guard page.count < limit else {
                        more = true
                        return
                    }
                    page.append(try Webhook(decoding: e.value))
                    entry = try cursor.next()
                }
            }
        }
        return (page, more)
    }

    /// The expiry and shortest lead already warned of for key `id`, if any.
    public func warned(_ id: KeyID, in txn: borrowing Transaction) throws -> (expiresAt: Int64, lead: Int64)? {
        guard let bytes = try txn.get(warnings, id.bytes), bytes.count == 16 else { return nil }
        return bytes.withUnsafeBytes {
            (
                Int64(littleEndian: $0.loadUnaligned(as: Int64.self)),
                Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: Int64.self))
            )
        }
    }

    /// Calls `body` with every warning given: key, expiry, shortest lead.
    public func forEachWarning(in txn: borrowing Transaction, _ body: (KeyID, Int64, Int64) throws -> Void) throws {
        try txn.withCursor(warnings) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                if e.value.count == 16, let id = KeyID(bytes: e.key) {
                    try body(
                        id, Int64(littleEndian: e.value.loadUnaligned(as: Int64.self)),
                        Int64(littleEndian: e.value.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
                }
                entry = try cursor.next()
            }
        }
    }

    public func makeRebuilder() -> any ProjectionRebuilder { Rebuilder(projection: self) }

    /// Keeps the few events this fold reads and applies them at each write: they are a
    /// sliver of a log, so a rebuild needs nothing cleverer.
    struct Rebuilder: ProjectionRebuilder {
        let projection: NotificationProjection
        var pending: [Event] = []
        var written = 0

        mutating func fold(_ chunk: LogChunk) {
            chunk.forEach(
                access: { _ in },
                other: { event, _ in if NotificationProjection.reads(event) { pending.append(event) } })
        }

        mutating func write(into txn: borrowing Transaction, _ occasion: WriteOccasion) throws {
            for event in pending[written...] { try projection.apply(event, in: txn) }
            written = pending.count
        }

        mutating func rewind() { written = 0 }

        mutating func committed() {
            pending.removeAll()
            written = 0
        }
    }
}
