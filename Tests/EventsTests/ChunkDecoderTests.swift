import Events
import Testing

private let owner = "org_42"
private let otherID = KeyID(high: 0x0123_4567_89AB_CDEF, low: 7)

private func created(_ id: KeyID, seq: UInt64, owner: String = owner) -> Event {
    guard case .created(let c) = sampleEvents()[0].payload else { preconditionFailure() }
    return Event(
        seq: seq, time: 1_795_417_200_000_000 + Int64(seq), keyID: id, owner: owner,
        actor: Actor(kind: .root, id: "root"), payload: .created(c))
}

private func access(
    _ id: KeyID, seq: UInt64, owner: String = owner, actor: Actor? = nil, ip: IPAddress? = IPAddress("203.0.113.7"),
    code: VerifyCode = .valid
) -> Event {
    Event(
        seq: seq, time: 1_795_417_200_000_000 + Int64(seq), keyID: id, owner: owner,
        actor: actor ?? Actor(kind: .key, id: id.description), ip: ip, requestID: "req_\(seq)",
        payload: .accessed(
            KeyAccessed(code: code, scope: "a:r", account: "acc_1", endpoint: "GET /x", latencyMicros: 300, cost: 2)))
}

private func add(_ events: [Event], to decoder: inout ChunkDecoder) throws {
    for event in events { try EventCodec.encode(event).withUnsafeBytes { try decoder.add($0, seq: event.seq) } }
}

@Test func aChunkKeepsTheKeysOwnAccessesAsRecordsAndEverythingElseWhole() throws {
    var decoder = ChunkDecoder(context: .actorAndIP)
    try add(
        [
            created(sampleID, seq: 1),
            access(sampleID, seq: 2),
            access(sampleID, seq: 3, actor: Actor(kind: .root, id: "root")),  // not its own
            access(sampleID, seq: 4, owner: "org_other"),  // not its owner
            access(otherID, seq: 5, ip: nil, code: .rateLimited),  // a key not met yet
            access(otherID, seq: 6, ip: IPAddress("2001:db8::1"), code: .insufficientScope),
        ], to: &decoder)
    let first = decoder.take()
    #expect(first.firstNewKey == 0)
    #expect(first.newKeys == [sampleID, otherID])
    #expect(first.newOwners == [owner, owner])
    #expect(first.count == 6 && first.lastSeq == 6)
    #expect(first.accesses.map(\.seq) == [2, 6])
    #expect(first.others.map(\.event.seq) == [1, 3, 4, 5])
    #expect(first.others.map(\.key) == [0, 0, 0, 1])
    let own = first.accesses[0]
    #expect(own.key == 0 && own.time == 1_795_417_200_000_002 && own.code == .valid)
    #expect(own.latencyMicros == 300 && own.cost == 2)
    // Filed as the audit index files addresses: IPv4 as its IPv4-mapped IPv6 form.
    let v4 = IPAddress("203.0.113.7")!
    #expect(own.hasIP && own.ipHigh == v4.high && own.ipLow == v4.low)
    let v6 = first.accesses[1]
    #expect(v6.key == 1 && v6.code == .insufficientScope && v6.ipHigh == IPAddress("2001:db8::1")!.high)
    var order: [UInt64] = []
    first.forEach { order.append($0.seq) } other: { event, _ in order.append(event.seq) }
    #expect(order == Array(1...6))

    // The next chunk numbers keys on from the first's.
    let thirdID = KeyID(high: 9, low: 9)
    try add([access(otherID, seq: 7, ip: nil), created(thirdID, seq: 8, owner: "org_3")], to: &decoder)
    let second = decoder.take()
    #expect(second.firstNewKey == 2 && second.newKeys == [thirdID] && second.newOwners == ["org_3"])
    #expect(second.accesses.map(\.key) == [1] && second.accesses[0].hasIP == false)
    #expect(second.others.map(\.key) == [2])
    #expect(decoder.take().count == 0)
}

/// A key's use as a management credential carries its HTTP status: it is decoded whole,
/// so that the audit fold can file its route.
@Test func aManagementUseIsDecodedWhole() throws {
    var decoder = ChunkDecoder(context: .actorAndIP)
    var managed = access(sampleID, seq: 2)
    managed.payload = .accessed(
        KeyAccessed(code: .valid, scope: "ledger:audit", endpoint: "GET /v1/audit", status: 200))
    try add([created(sampleID, seq: 1), managed, access(sampleID, seq: 3)], to: &decoder)
    let chunk = decoder.take()
    #expect(chunk.accesses.map(\.seq) == [3])
    #expect(chunk.others.map(\.event.seq) == [1, 2])
    #expect(chunk.others.last?.event.payload.managementRoute == "/v1/audit")
}

/// What the codec accepts the decoder accepts, field for field, and what it refuses the
/// decoder refuses: its own parsing of accesses changes what a replay reads, nothing else.
@Test func theDecoderAgreesWithTheCodecOnMutatedRecords() throws {
    var rng = SystemRandomNumberGenerator()
    var primed = ChunkDecoder(context: .actorAndIP)
    try add([created(sampleID, seq: 1)], to: &primed)
    _ = primed.take()
    let records = [access(sampleID, seq: 2), access(sampleID, seq: 2, ip: nil, code: .expired)].map(EventCodec.encode)
    var compact = 0
    for trial in 0..<20_000 {
        var bytes = records.randomElement(using: &rng)!
        if trial > 0 {
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Int.random(in: 0..<8, using: &rng) == 0 { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
        }
        var decoder = primed
        let expected = try? bytes.withUnsafeBytes { try EventCodec.decode($0, seq: 2, context: .actorAndIP) }
        let added: Void? = try? bytes.withUnsafeBytes { try decoder.add($0, seq: 2) }
        #expect((added != nil) == (expected != nil))
        guard let event = expected else { continue }
        let chunk = decoder.take()
        guard let record = chunk.accesses.first else {
            #expect(chunk.others.first?.event == event)
            continue
        }
        compact += 1
        guard case .accessed(let a) = event.payload else {
            Issue.record("an access record from a \(event.type.wireName)")
            continue
        }
        #expect(record.key == 0 && event.keyID == sampleID && event.owner == owner)
        #expect(event.actor == Actor(kind: .key, id: sampleID.description))
        #expect(record.time == event.time && record.code == a.code)
        #expect(record.latencyMicros == a.latencyMicros && record.cost == a.cost)
        #expect(record.hasIP == (event.ip != nil))
        if let ip = event.ip { #expect(record.ipHigh == ip.high && record.ipLow == ip.low) }
    }
    #expect(compact > 100)
}

/// Thousands of keys, some sharing their low 64 bits: every access finds its own key's
/// number.
@Test func keysAreNumberedInTheOrderTheyAreMetAndFoundAgain() throws {
    var rng = SplitMix64(seed: 7)
    let ids = (0..<5000).map { i in KeyID(high: UInt64(i + 1), low: i % 3 == 0 ? 42 : rng.next()) }
    var decoder = ChunkDecoder(context: .minimal)
    try add(ids.enumerated().map { created($1, seq: UInt64($0 + 1)) }, to: &decoder)
    let creations = decoder.take()
    #expect(creations.newKeys == ids && creations.others.map(\.key) == (0..<5000).map { UInt32($0) })
    let picks = (0..<3000).map { _ in Int(rng.next() % 5000) }
    try add(picks.enumerated().map { access(ids[$1], seq: UInt64(5001 + $0)) }, to: &decoder)
    let accesses = decoder.take()
    #expect(accesses.newKeys.isEmpty && accesses.firstNewKey == 5000)
    #expect(accesses.accesses.map { Int($0.key) } == picks)
}
