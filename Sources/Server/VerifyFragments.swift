import Events
import JSON
import Ledger
import Projections
import Synchronization

/// The members of a verify answer that change only when the key (or its plan) does —
/// `keyId` through `scopes`, and `expiresAt` through `plan` — rendered once and reused
/// while every field they are made of is unchanged (hot path, STYLE.md 12: they are half
/// the answer's strings). A hit compares the fields, so an answer is always what a fresh
/// rendering gives.
///
/// Bounded: at most ``capacity`` keys; when full it starts again empty. Only keys that
/// exist get an entry, so verifications of unknown secrets add nothing.
final class VerifyFragments: Sendable {
    /// One key's fragments and the fields they were made of. A class, so a lookup hands
    /// out one reference instead of copying every field.
    final class Entry: Sendable {
        let id: KeyID
        let owner: String
        let name: String
        let environment: String
        let scopes: [String]
        let expiresAt: Int64?
        let metadata: [String: String]
        let plan: String?
        /// `"keyId":...,"owner":...,"name":...,"environment":...,"scopes":[...]`
        let identity: [UInt8]
        /// `"expiresAt":...,"metadata":{...},"plan":...`
        let terms: [UInt8]

        init(_ key: KeyState, plan: String?) {
            id = key.id
            owner = key.owner
            name = key.name
            environment = key.environment
            scopes = key.scopes
            expiresAt = key.expiresAt
            metadata = key.metadata
            self.plan = plan
            identity = VerifyFragments.identity(key)
            terms = VerifyFragments.terms(key, plan: plan)
        }

        /// Whether the fragments were made of exactly these fields.
        func matches(_ key: KeyState, plan: String?) -> Bool {
            id == key.id && owner == key.owner && name == key.name && environment == key.environment
                && scopes == key.scopes && expiresAt == key.expiresAt && self.plan == plan && metadata == key.metadata
        }
    }

    static let capacity = 4096
    /// Sized for a full cache up front, so filling it never rehashes (while a cold
    /// cache fills, every verification of a new key inserts).
    private let entries = Mutex<[KeyID: Entry]>(Dictionary(minimumCapacity: VerifyFragments.capacity))

    /// The fragments for `key` with `plan`, from the cache or rendered now.
    func fragments(_ key: KeyState, plan: String?) -> (identity: [UInt8], terms: [UInt8]) {
        if let entry = entries.withLock({ $0[key.id] }), entry.matches(key, plan: plan) {
            return (entry.identity, entry.terms)
        }
        let entry = Entry(key, plan: plan)
        entries.withLock { entries in
            if entries.count >= Self.capacity && entries[key.id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key.id] = entry
        }
        return (entry.identity, entry.terms)
    }

    /// Keys held now.
    var count: Int { entries.withLock { $0.count } }

    static func identity(_ key: KeyState) -> [UInt8] {
        members { w in
            w.field(static: "keyId", key.id.description)
            w.field(static: "owner", key.owner)
            w.field(static: "name", key.name)
            w.field(static: "environment", key.environment)
            EventJSON.strings("scopes", key.scopes, &w)
        }
    }

    static func terms(_ key: KeyState, plan: String?) -> [UInt8] {
        members { w in
            w.field(static: "expiresAt", timestamp: key.expiresAt)
            EventJSON.metadata(key.metadata, &w)
            w.field(static: "plan", plan)
        }
    }

    /// The members `fill` writes, without the braces around them.
    private static func members(_ fill: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        fill(&w)
        w.endObject()
        return w.bytes(in: 1..<(w.byteCount - 1))
    }
}
