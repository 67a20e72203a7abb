internal import Glibc

/// The event codec on arbitrary bytes: decoding throws or returns, never traps, and a
/// record that decodes encodes back to exactly its bytes (one spelling per event). A
/// replay's ``ChunkDecoder`` accepts exactly what the codec accepts. The
/// same bytes as text go through the parsers of request values: key ids, addresses,
/// CIDR ranges and secrets, whose results must render back to what they parse from.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let id = KeyID(text) { precondition(id.description == text, "key id \(text) renders as \(id)") }
    if let ip = IPAddress(text) { precondition(IPAddress(ip.description) == ip, "\(text) renders as \(ip)") }
    if case .success(let range) = CIDR.parse(text) {
        precondition((try? CIDR.parse(range.description).get()) == range, "\(text) renders as \(range)")
    }
    _ = Secret.isWellFormed(bytes)
    if let event = try? EventCodec.decode(bytes, seq: 1) {
        precondition(EventCodec.encode(event).elementsEqual(bytes), "a record re-encodes differently")
    }
    _ = try? EventCodec.decode(bytes, seq: 1, context: .minimal)
    var decoder = primed
    let whole = try? EventCodec.decode(bytes, seq: 2, context: .actorAndIP)
    let added: Void? = try? decoder.add(bytes, seq: 2)
    precondition((whole != nil) == (added != nil), "the chunk decoder and the codec disagree on a record")
    let split = try? ChainedRecord.split(bytes)
    precondition((try? ChainedRecord.record(of: bytes)).map(Array.init) == split.map { Array($0.record) })
    return 0
}

/// The key of the seed access (index 8 below), so that its record is the key's own access.
private let seedKey = KeyID(high: 0x0123_4567_89AB_CDEF, low: 8)

/// A chunk decoder that has met the seed access's key (owner `org_42`).
private let primed: ChunkDecoder = {
    var decoder = ChunkDecoder(context: .actorAndIP)
    let created = Event(
        seq: 1, time: 1_795_417_200_000_000, keyID: seedKey, owner: "org_42", actor: Actor(kind: .root, id: "root"),
        payload: .created(
            KeyCreated(
                name: "seed", prefix: "sk_live_", environment: "live", scopes: [], accounts: [], ipAllowlist: [],
                expiresAt: nil, rateLimits: [], credits: nil, metadata: [:],
                secretDigest: Secret.digest("not a secret: a fuzzing seed"))))
    try! EventCodec.encode(created).withUnsafeBytes { try decoder.add($0, seq: 1) }
    _ = decoder.take()
    return decoder
}()

/// Writes a record of every event type into `$FUZZ_SEED_DIR` (made-up ids and digests),
/// so the fuzzer starts from valid records.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>)
    -> CInt
{
    guard let dir = getenv("FUZZ_SEED_DIR").map({ String(cString: $0) }) else { return 0 }
    let digest = Secret.digest("not a secret: a fuzzing seed")
    let payloads: [EventPayload] = [
        .created(
            KeyCreated(
                name: "seed", prefix: "sk_live_", environment: "live", scopes: ["a:r", "ledger:keys"],
                accounts: ["acc_1"], ipAllowlist: [CIDR(network: IPAddress(v4: 0x0A00_0000), prefixLength: 8)],
                expiresAt: 1_900_000_000_000_000, rateLimits: [RateLimit(limit: 100, windowSeconds: 900)],
                credits: 50, metadata: ["team": "crm", "tier": "gold"], secretDigest: digest)),
        .updated(KeyUpdated(name: "new", scopes: [], expiresAt: .some(nil), metadata: ["k": "v"])),
        .rotated(KeyRotated(secretDigest: digest, gracePeriodSeconds: 3600, previousSecretExpiresAt: 77)),
        .suspended(reason: "investigation"), .reactivated, .revoked(reason: nil), .expired,
        .creditsAdded(add: 10, balance: 60),
        .accessed(
            KeyAccessed(
                code: .rateLimited, scope: "a:r", account: "acc_1", endpoint: "GET /api/v1/accounts",
                latencyMicros: 312, cost: 2)),
        .accessed(
            KeyAccessed(code: .valid, scope: "ledger:audit", endpoint: "GET /v1/audit", latencyMicros: 40, status: 200)),
        .request(
            LedgerRequest(
                method: "GET", route: "/v1/keys/{id}/logs", status: 200, target: KeyID(high: 1, low: 2), count: 3)),
        .authFailed(AuthFailed(method: "GET", route: "/v1/audit", reason: .revoked, keyID: KeyID(high: 1, low: 2))),
        .authFailed(AuthFailed(method: nil, route: nil, reason: nil, count: 140)),
        .webhookCreated(
            WebhookCreated(
                id: WebhookID(raw: KeyID(high: 1, low: 2)), url: "https://h/", eventTypes: ["*"], description: "d")),
        .webhookUpdated(WebhookUpdated(id: WebhookID(raw: KeyID(high: 1, low: 2)), description: .some(nil), enabled: true)),
        .webhookSecretRotated(WebhookID(raw: KeyID(high: 1, low: 2)), version: 2),
        .expiring(expiresAt: 1_900_000_000_000_000, leadSeconds: 86_400), .leaked(url: "https://g/", source: nil),
    ]
    for (i, payload) in payloads.enumerated() {
        let event = Event(
            time: 1_795_417_200_000_000, keyID: KeyID(high: 0x0123_4567_89AB_CDEF, low: UInt64(i)), owner: "org_42",
            actor: Actor(kind: .key, id: i == 8 ? seedKey.description : "key_seed"), ip: IPAddress("2001:db8::1"), requestID: "req_\(i)",
            payload: payload)
        let record = EventCodec.encode(event)
        let fd = open("\(dir)/seed-\(i)", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { continue }
        _ = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
    return 0
}
