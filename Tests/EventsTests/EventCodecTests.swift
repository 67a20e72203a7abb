import Events
import Testing

let sampleID = KeyID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
let sampleDigest = Secret.digest("sk_live_example")

func sampleEvents() -> [Event] {
    let created = KeyCreated(
        name: "CRM Sync", prefix: "sk_live_", environment: "live", scopes: ["accounts:read", "ledger:keys"],
        accounts: ["acc_1"],
        ipAllowlist: [try! CIDR.parse("10.0.0.0/8").get(), try! CIDR.parse("2001:db8::/32").get()],
        expiresAt: 1_900_000_000_000_000, rateLimits: [RateLimit(limit: 100, windowSeconds: 900)], credits: 50,
        metadata: ["team": "crm", "tier": "gold"], secretDigest: sampleDigest)
    let payloads: [EventPayload] = [
        .created(created),
        .updated(
            KeyUpdated(
                name: "New", scopes: [], accounts: ["a"], ipAllowlist: [], expiresAt: .some(nil),
                rateLimits: [RateLimit(limit: 1, windowSeconds: 1)], metadata: [:])),
        .updated(KeyUpdated(expiresAt: .some(42))),
        .updated(
            KeyUpdated(rateLimits: [
                RateLimit(name: "hour", limit: 5, windowSeconds: 3600), RateLimit(limit: 1, windowSeconds: 1),
            ])),
        .creditsSet(balance: 50), .creditsSubtracted(subtract: 3, balance: 47),
        .ownerUpdated({
            var o = OwnerSettings()
            o.rateLimits = [RateLimit(name: "hour", limit: 500, windowSeconds: 3600)]
            o.credits = 10
            o.refill = Refill(interval: .monthly, amount: 10, dayOfMonth: 31)
            o.plan = "free"
            o.metadata = ["tier": "free"]
            o.leakPolicy = .notify
            o.purgeAfterSeconds = 604_800
            return o
        }()),
        .ownerUpdated(OwnerSettings()),
        .planUpdated({
            var p = PlanSettings(name: "guest")
            p.rateLimits = [RateLimit(name: "day", limit: 50, windowSeconds: 86_400)]
            p.credits = 50
            p.refill = Refill(interval: .daily, amount: 50)
            return p
        }()),
        .configured({
            var k = KeyQuotaSettings()
            k.plan = "pro"
            k.selfRotate = true
            k.purgeAfterSeconds = 0
            return k
        }()),
        .creditsRefilled(balance: 5), .ownerCreditsRefilled(balance: 10), .purged,
        .rotated(KeyRotated(secretDigest: sampleDigest, gracePeriodSeconds: 3600, previousSecretExpiresAt: 77)),
        .suspended(reason: "investigation"), .suspended(reason: nil), .reactivated,
        .revoked(reason: "leaked"), .expired, .creditsAdded(add: 10, balance: 60),
        .accessed(
            KeyAccessed(
                code: .rateLimited, scope: "accounts:read", account: "acc_1",
                endpoint: "GET /api/v1/accounts", latencyMicros: 312, cost: 2)),
        .accessed(KeyAccessed(code: .valid)),
        .accessed(
            KeyAccessed(
                code: .valid, scope: "ledger:audit", endpoint: "GET /v1/audit", latencyMicros: 40, cost: 1, status: 200)
        ),
        .request(LedgerRequest(method: "GET", route: "/v1/keys/{id}/logs", status: 200, target: sampleID, count: 3)),
        .request(LedgerRequest(method: "POST", route: "/v1/keys/{id}/reactivate", status: 409)),
        .authFailed(AuthFailed(method: "GET", route: "/v1/audit", reason: .revoked, keyID: sampleID)),
        .authFailed(AuthFailed(method: nil, route: nil, reason: nil, count: 140)),
        .webhookCreated(
            WebhookCreated(
                id: sampleWebhook, url: "https://hooks.example.com/k", eventTypes: ["key.created", "key.leaked"],
                description: "crm")),
        .webhookCreated(WebhookCreated(id: sampleWebhook, url: "https://h/", eventTypes: ["*"], description: nil)),
        .webhookUpdated(WebhookUpdated(id: sampleWebhook, url: "https://h2/", eventTypes: ["*"], description: .some(nil), enabled: false)),
        .webhookUpdated(WebhookUpdated(id: sampleWebhook, enabled: true)),
        .webhookDeleted(sampleWebhook), .webhookSecretRotated(sampleWebhook, version: 7),
        .webhookDisabled(sampleWebhook, reason: "failing for 5 days"),
        .expiring(expiresAt: 1_795_417_200_000_000, leadSeconds: 86_400),
        .leaked(url: "https://github.com/o/r", source: "content"), .leaked(url: nil, source: nil),
    ]
    return payloads.enumerated().map { i, payload in
        Event(
            seq: UInt64(i + 1), time: 1_795_417_200_000_000 + Int64(i), keyID: sampleID, owner: "org_42",
            actor: Actor(kind: Actor.Kind.allCases[i % 4], id: "actor-\(i)"),
            ip: i % 3 == 0 ? IPAddress("203.0.113.7") : (i % 3 == 1 ? IPAddress("2001:db8::1") : nil),
            requestID: i % 2 == 0 ? "req_\(i)" : nil, payload: payload)
    }
}

private let sampleWebhook = WebhookID(raw: KeyID(high: 0x0352_0000_0000_0001, low: 42))

@Test func webhookIDsReadAndWriteAsTheyAreShown() throws {
    let text = sampleWebhook.description
    #expect(text.hasPrefix("wh_") && text.utf8.count == 25)
    #expect(WebhookID(text) == sampleWebhook)
    #expect(WebhookID("key_" + text.dropFirst(3)) == nil)
    #expect(WebhookID("wh_short") == nil)
}

@Test func everyEventTypeRoundTripsThroughTheCodec() throws {
    let events = sampleEvents()
    #expect(Set(events.map(\.type)) == Set(EventType.allCases))
    for event in events {
        let record = EventCodec.encode(event)
        let decoded = try record.withUnsafeBytes { try EventCodec.decode($0, seq: event.seq) }
        #expect(decoded == event)
    }
}

@Test func decodingWithLessContextKeepsTheFoldFields() throws {
    /// What a fold sees of a payload: an access without what it asked for.
    func folded(_ payload: EventPayload) -> EventPayload {
        guard case .accessed(let a) = payload else { return payload }
        return .accessed(
            KeyAccessed(
                code: a.code, endpoint: a.status == nil ? nil : a.endpoint, latencyMicros: a.latencyMicros,
                cost: a.cost, status: a.status))
    }
    #expect(sampleEvents().contains { if case .accessed(let a) = $0.payload { a.endpoint != nil } else { false } })
    for event in sampleEvents() {
        let record = EventCodec.encode(event)
        let bare = try record.withUnsafeBytes { try EventCodec.decode($0, seq: 1, context: .minimal) }
        #expect(bare.payload == folded(event.payload))
        #expect(bare.keyID == event.keyID && bare.time == event.time && bare.owner == event.owner)
        #expect(bare.actor.id.isEmpty && bare.ip == nil && bare.requestID == nil)
        let audit = try record.withUnsafeBytes { try EventCodec.decode($0, seq: 1, context: .actorAndIP) }
        #expect(audit.payload == folded(event.payload) && audit.owner == event.owner)
        #expect(audit.actor == event.actor && audit.ip == event.ip && audit.requestID == nil)
    }
}

@Test func decodingThroughAStringTableGivesTheSameEvents() throws {
    // Owners and actor ids long enough to be kept, repeated, non-ASCII, and more distinct
    // ones than the table has slots (so slots are taken over), each decoded twice.
    var events: [Event] = []
    for (i, template) in sampleEvents().enumerated() {
        var event = template
        event.owner = i % 2 == 0 ? "organisation_\(i % 5)_of_the_tests" : "org_42"
        event.actor.id = i % 3 == 0 ? "kl_\(i % 4)ABCDEFGHIJKLMNOPQRSTUVW" : "actör-naïve-\(i)-ünïcödé"
        events.append(event)
    }
    for n in 0..<(StringTable.slotCount + 100) {
        var event = events[n % events.count]
        event.owner = "owner-number-\(n)-of-many"
        events.append(event)
    }
    var strings = StringTable()
    for _ in 0..<2 {
        for event in events {
            let record = EventCodec.encode(event)
            for context in [EventCodec.Context.all, .actorAndIP, .minimal] {
                let plain = try record.withUnsafeBytes { try EventCodec.decode($0, seq: event.seq, context: context) }
                let kept = try record.withUnsafeBytes {
                    try EventCodec.decode($0, seq: event.seq, context: context, strings: &strings)
                }
                #expect(kept == plain)
            }
        }
    }
}

@Test func stringsDecodeWhetherASCIIOrNot() throws {
    for text in ["", "a", "org_1234567", "exactly8", "sixteen bytes!!!", "naïve", "日本語のキー名", "emoji 🔑 key"] {
        var writer = BinaryWriter()
        writer.string(text)
        let decoded = try writer.bytes.withUnsafeBytes { bytes in
            var reader = BinaryReader(bytes)
            return try reader.string()
        }
        #expect(decoded == text)
    }
    // Invalid UTF-8 after an ASCII run still throws.
    var writer = BinaryWriter()
    writer.string("abcdefgh")
    var bytes = writer.bytes
    bytes[bytes.count - 1] = 0xC3
    #expect(throws: EventDecodingError.self) {
        try bytes.withUnsafeBytes { buffer in
            var reader = BinaryReader(buffer)
            _ = try reader.string()
        }
    }
}

@Test func aRecordHasOneSpelling() throws {
    // The varint 13 spelled in two bytes (found by tools/fuzz.sh in an access's latency).
    for bytes in [[0x8D, 0x00], [0x80, 0x80, 0x00]] as [[UInt8]] {
        #expect(throws: EventDecodingError.self) {
            try bytes.withUnsafeBytes { buffer in
                var reader = BinaryReader(buffer)
                _ = try reader.varint()
            }
        }
    }
    // Whatever a mutated record decodes to encodes back to exactly its bytes.
    var rng = SplitMix64(seed: 3)
    var decoded = 0
    for event in sampleEvents() {
        let record = EventCodec.encode(event)
        for _ in 0..<2000 {
            var bytes = record
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                default: bytes.remove(at: i)
                }
            }
            guard let again = try? bytes.withUnsafeBytes({ try EventCodec.decode($0, seq: 1) }) else { continue }
            decoded += 1
            #expect(EventCodec.encode(again) == bytes)
        }
    }
    #expect(decoded > 100)
}

/// The audit records' checks (docs/record-format.md): a status is 100...599, a record
/// counts at least one request, a reason is a known code; nothing else follows a status.
@Test func auditRecordsOutOfRangeAreRefused() throws {
    func record(_ payload: EventPayload) -> [UInt8] {
        EventCodec.encode(
            Event(time: 1, keyID: .none, owner: "", actor: Actor(kind: .root, id: "root"), payload: payload))
    }
    let good = record(.request(LedgerRequest(method: "GET", route: "/v1/audit", status: 200)))
    #expect((try? good.withUnsafeBytes { try EventCodec.decode($0, seq: 1) }) != nil)
    let bad: [[UInt8]] = [
        record(.request(LedgerRequest(method: "GET", route: "/v1/audit", status: 99))),
        record(.request(LedgerRequest(method: "GET", route: "/v1/audit", status: 600))),
        record(.request(LedgerRequest(method: "GET", route: "/v1/audit", status: 200, count: 0))),
        record(.authFailed(AuthFailed(method: nil, route: nil, reason: nil, count: 0))),
        record(.accessed(KeyAccessed(code: .valid, status: 200))) + [0x01],
        record(.accessed(KeyAccessed(code: .valid))) + [0x05],
    ]
    for bytes in bad {
        #expect(throws: EventDecodingError.self) { try bytes.withUnsafeBytes { try EventCodec.decode($0, seq: 1) } }
    }
    // An unknown reason code: the record ends `reason, 0x00 (no key), 0x01 (count)`.
    var reason = record(.authFailed(AuthFailed(method: nil, route: nil, reason: .missing)))
    #expect(reason[reason.count - 3] == AuthFailed.Reason.missing.rawValue)
    reason[reason.count - 3] = 7
    #expect(throws: EventDecodingError.self) { try reason.withUnsafeBytes { try EventCodec.decode($0, seq: 1) } }
}

@Test func decodingRandomBytesThrowsAndNeverTraps() {
    var rng = SystemRandomNumberGenerator()
    var rejected = 0
    for _ in 0..<20_000 {
        let length = Int.random(in: 0..<200, using: &rng)
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if (try? bytes.withUnsafeBytes { try EventCodec.decode($0, seq: 1) }) == nil { rejected += 1 }
    }
    #expect(rejected > 19_900)
}

@Test func decodingMutatedRecordsNeverTraps() {
    var rng = SystemRandomNumberGenerator()
    let records = sampleEvents().map(EventCodec.encode)
    for _ in 0..<20_000 {
        var bytes = records.randomElement(using: &rng)!
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
        _ = try? bytes.withUnsafeBytes { try EventCodec.decode($0, seq: 1) }
    }
    #expect(records.count == sampleEvents().count)
}

@Test func theHashChainLinksEachRecordToThePreviousHash() throws {
    let record = EventCodec.encode(sampleEvents()[0])
    let first = ChainedRecord.seal(record, after: .zero)
    let second = ChainedRecord.seal(record, after: first.hash)
    #expect(first.hash != second.hash)
    let parts = try second.value.withUnsafeBytes { raw in
        let p = try ChainedRecord.split(raw)
        return (
            Array(p.record), p.prevHash, p.hash,
            ChainedRecord.isIntact(record: p.record, prevHash: p.prevHash, hash: p.hash)
        )
    }
    #expect(parts.0 == record && parts.1 == first.hash && parts.2 == second.hash && parts.3)
    var tampered = second.value
    tampered[3] ^= 1
    let intact = try tampered.withUnsafeBytes { raw in
        let p = try ChainedRecord.split(raw)
        return ChainedRecord.isIntact(record: p.record, prevHash: p.prevHash, hash: p.hash)
    }
    #expect(!intact)
}

@Test func wireNamesAreStable() {
    #expect(
        EventType.allCases.map(\.wireName) == [
            "key.created", "key.updated", "key.rotated", "key.suspended", "key.reactivated", "key.revoked",
            "key.expired", "key.credits_added", "key.accessed", "ledger.request", "auth.failed", "key.credits_set",
            "key.credits_subtracted", "owner.updated", "plan.updated", "key.configured", "key.credits_refilled",
            "owner.credits_refilled", "key.purged", "webhook.created", "webhook.updated", "webhook.deleted",
            "webhook.secret_rotated", "webhook.disabled", "key.expiring", "key.leaked",
        ])
    #expect(EventType.allCases.filter { $0.rawValue >= 40 }.map(\.rawValue) == Array(40...46))
    #expect(EventType(wireName: "key.credits_added") == .creditsAdded)
    #expect(VerifyCode(wireName: "USAGE_EXCEEDED") == .usageExceeded)
}

/// The example of docs/record-format.md, byte for byte.
@Test func theRecordFormatDocumentsExampleIsWhatTheCodecWrites() {
    let event = Event(
        seq: 1, time: 1_795_417_200_000_000, keyID: sampleID, owner: "org_42", actor: Actor(kind: .root, id: "root"),
        ip: IPAddress("127.0.0.1"), requestID: "req_test", payload: .suspended(reason: "investigation"))
    let documented =
        "01 04 00 fc 6d 24 ec 60 06 00 01 23 45 67 89 ab cd ef fe dc ba 98 76 54 32 10 06 6f 72 67 5f 34 32 01 04 72 6f 6f 74 04 7f 00 00 01 01 08 72 65 71 5f 74 65 73 74 01 0d 69 6e 76 65 73 74 69 67 61 74 69 6f 6e"
    #expect(Hex.encode(EventCodec.encode(event)) == documented.replacing(" ", with: ""))
    #expect(sampleID.description == "key_0296tiiBb3UUmdjYQ3ySu0")
}
