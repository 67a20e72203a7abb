/// Decodes log records into ``LogChunk``s for a rebuild, numbering keys as it meets them.
///
/// A record becomes an ``AccessRecord`` when it is a `key.accessed` of a key already
/// numbered, naming that key's owner, whose actor is the key itself: its bytes are
/// checked against what the decoder knows, not decoded into strings. Anything else (the
/// first event of every key among them) is decoded whole. Every record is checked as
/// ``EventCodec/decode(_:seq:context:)`` checks it, and garbage throws.
public struct ChunkDecoder: Sendable {
    private var numbers = KeyNumbers()
    /// Per key number: its owner's UTF-8 bytes, as one buffer with an end per key.
    private var ownerBytes: [UInt8] = []
    private var ownerEnds: [Int] = []
    /// Per key number: its id as an actor names it (`key_` + 22 digits), 26 bytes each.
    private var idTexts: [UInt8] = []
    private let context: EventCodec.Context
    private var chunk: LogChunk

    /// - Parameter context: what the events decoded whole fill in.
    /// True when each chunk also carries every event decoded whole (``LogChunk/events``),
    /// for folds that read the events themselves.
    private let keepsEvents: Bool
    /// True when each chunk also carries every record's leaf hash (``LogChunk/leaves``).
    private let hashesLeaves: Bool

    public init(context: EventCodec.Context, keepingEvents: Bool = false, hashingLeaves: Bool = false) {
        self.context = context
        keepsEvents = keepingEvents
        hashesLeaves = hashingLeaves
        chunk = LogChunk(firstNewKey: 0)
    }

    /// Keys numbered so far.
    public var keyCount: Int { ownerEnds.count }

    /// Adds the record stored under `seq` (the record alone, without the chain's hashes).
    public mutating func add(_ record: UnsafeRawBufferPointer, seq: UInt64) throws(EventDecodingError) {
        if keepsEvents { chunk.events.append(try EventCodec.decode(record, seq: seq, context: context)) }
        if hashesLeaves { chunk.leaves.append(MerkleHash.leaf(record)) }
        if let access = try access(record, seq: seq) {
            chunk.accesses.append(access)
        } else {
            let event = try EventCodec.decode(record, seq: seq, context: context)
            chunk.others.append((event, number(event.keyID, owner: event.owner)))
        }
        chunk.lastSeq = seq
    }

    /// Makes room for `count` more events in the chunk being decoded.
    public mutating func reserve(_ count: Int) {
        chunk.accesses.reserveCapacity(chunk.accesses.count + count)
        if hashesLeaves { chunk.leaves.reserveCapacity(chunk.leaves.count + count) }
    }

    /// The chunk decoded since the last take; the next one numbers keys on from here.
    public mutating func take() -> LogChunk {
        defer { chunk = LogChunk(firstNewKey: keyCount) }
        return chunk
    }

    private mutating func number(_ id: KeyID, owner: String) -> UInt32 {
        if let known = numbers[id] { return known }
        let number = UInt32(ownerEnds.count)
        numbers.insert(id, number)
        ownerBytes.append(contentsOf: owner.utf8)
        ownerEnds.append(ownerBytes.count)
        idTexts.append(contentsOf: id.description.utf8)
        chunk.newKeys.append(id)
        chunk.newOwners.append(owner)
        return number
    }

    /// The record as an access record, or nil when it must be decoded whole. Throws for
    /// what ``EventCodec/decode(_:seq:context:)`` throws for, at any depth it reads to.
    private func access(_ record: UnsafeRawBufferPointer, seq: UInt64) throws(EventDecodingError) -> AccessRecord? {
        var r = BinaryReader(record)
        guard try r.u8() == EventCodec.version, try r.u8() == EventType.accessed.rawValue else { return nil }
        let time = try r.i64()
        let idBytes = try r.raw(16)
        guard let id = KeyID(bytes: idBytes), let key = numbers[id] else { return nil }
        let owner = try r.raw(r.count(limit: 1 << 20))
        let ownerStart = key == 0 ? 0 : ownerEnds[Int(key) - 1]
        let knownOwner = ownerBytes.withUnsafeBytes {
            UnsafeRawBufferPointer(rebasing: $0[ownerStart..<ownerEnds[Int(key)]])
        }
        guard Self.equal(owner, knownOwner), try r.u8() == Actor.Kind.key.rawValue else { return nil }
        let actor = try r.raw(r.count(limit: 1 << 20))
        let text = Int(key) * 26
        guard idTexts.withUnsafeBytes({ Self.equal(actor, UnsafeRawBufferPointer(rebasing: $0[text..<text + 26])) })
        else {
            return nil
        }
        let ipLength = Int(try r.u8())
        guard ipLength == 0 || ipLength == 4 || ipLength == 16 else { throw r.fail("bad ip length \(ipLength)") }
        let ip = IPAddress(bytes: try r.raw(ipLength))
        try r.skipOptionalString()
        let raw = try r.u8()
        guard let code = VerifyCode(rawValue: raw) else { throw r.fail("unknown verify code \(raw)") }
        for _ in 0..<3 { try r.skipOptionalString() }
        let latency = try r.varint()
        let cost = try r.varint()
        guard latency <= UInt64(UInt32.max), cost <= UInt64(UInt32.max) else {
            throw r.fail("access figures out of range")
        }
        // A management credential's use ends with its HTTP status: decoded whole, so the
        // audit fold files its route.
        guard r.isAtEnd else { return nil }
        return AccessRecord(
            seq: seq, time: time, ipHigh: ip?.high ?? 0, ipLow: ip?.low ?? 0, key: key,
            latencyMicros: UInt32(latency), cost: UInt32(cost), code: code, hasIP: ip != nil)
    }

    /// Byte equality, 8 bytes at a time (the buffers are a few dozen bytes: a call to
    /// `memcmp` cost more than the comparison).
    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i + 8 <= a.count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            i += 8
        }
        while i < a.count {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }
}

/// Key numbers by id: an open-addressing table probed linearly from a multiplicative hash
/// of the id, each slot holding the id and its number, so a lookup (once per event of a
/// replay) costs one multiply and usually one cache line, where a `Dictionary` ran SipHash
/// over the 16 bytes.
struct KeyNumbers: Sendable {
    private struct Slot {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The number plus one; zero marks an empty slot.
        var numberPlusOne: UInt32 = 0
    }

    private var slots = [Slot](repeating: Slot(), count: 64)
    private var count = 0
    /// log2 of the slot count.
    private var bits = 6

    subscript(id: KeyID) -> UInt32? {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Self.home(id, bits)
            while true {
                let slot = slots[i]
                if slot.numberPlusOne == 0 { return nil }
                if slot.low == id.low, slot.high == id.high { return slot.numberPlusOne - 1 }
                i = (i + 1) & mask
            }
        }
    }

    /// Files `id` under `number`. - Precondition: `id` is not filed yet.
    mutating func insert(_ id: KeyID, _ number: UInt32) {
        if (count + 1) * 2 > slots.count { grow() }
        place(Slot(high: id.high, low: id.low, numberPlusOne: number + 1))
        count += 1
    }

    private mutating func place(_ slot: Slot) {
        let mask = slots.count - 1
        var i = Self.home(KeyID(high: slot.high, low: slot.low), bits)
        while slots[i].numberPlusOne != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        bits += 1
        slots = [Slot](repeating: Slot(), count: 1 << bits)
        for slot in old where slot.numberPlusOne != 0 { place(slot) }
    }

    /// The slot a probe for `id` starts at: the top `bits` of a Fibonacci hash.
    @inline(__always)
    private static func home(_ id: KeyID, _ bits: Int) -> Int {
        Int(truncatingIfNeeded: ((id.high ^ id.low) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
    }
}
