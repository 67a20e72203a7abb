/// The compact binary record of an event (format version 1).
///
///     u8 version=1 | u8 type | i64 time | 16B key id | str owner | u8 actor kind | str actor id
///     | u8 ip length (0, 4, 16) + ip | optional str request id | payload (by type)
///
/// Integers are little-endian, lengths and counts LEB128 varints, strings UTF-8 with a
/// length. Decoding checks every length and enum value and throws on garbage.
public enum EventCodec {
    public static let version: UInt8 = 1

    /// The record of `event` (its seq is the log's key, not part of the record).
    public static func encode(_ event: Event) -> [UInt8] {
        var w = BinaryWriter()
        encode(event, into: &w)
        return w.bytes
    }

    /// Appends the record of `event` to `w` (the writer's one buffer, reused for every
    /// event it appends).
    public static func encode(_ event: Event, into w: inout BinaryWriter) {
        w.u8(version)
        w.u8(event.type.rawValue)
        w.i64(event.time)
        w.keyID(event.keyID)
        w.string(event.owner)
        w.u8(event.actor.kind.rawValue)
        w.string(event.actor.id)
        if let ip = event.ip { w.ip(ip) } else { w.u8(0) }
        w.optionalString(event.requestID)
        encodePayload(event.payload, into: &w)
    }

    /// Which of an event's request fields a decode fills in. Every length and flag is
    /// still checked; the fields skipped are left as placeholders (an empty actor id, no
    /// ip, no request id, no scope, account or endpoint of an access), saving their
    /// allocations during replay. No fold reads a request id or what an access asked for.
    public enum Context: Sendable {
        /// Everything: what the API and exports show.
        case all
        /// Actor and ip: what the audit fold reads.
        case actorAndIP
        /// Neither: what the key-state and usage folds read.
        case minimal
    }

    /// Decodes a record; `seq` is the log key it was stored under.
    public static func decode(_ record: UnsafeRawBufferPointer, seq: UInt64, context: Context = .all)
        throws(EventDecodingError) -> Event
    {
        try decode(record, seq: seq, context: context) { (r) throws(EventDecodingError) in try r.string() }
    }

    /// ``decode(_:seq:context:)``, with the owner and actor id taken from `strings` when
    /// it keeps them (what a thread decoding many records in a row saves allocations with).
    public static func decode(
        _ record: UnsafeRawBufferPointer, seq: UInt64, context: Context = .all, strings: inout StringTable
    ) throws(EventDecodingError) -> Event {
        try decode(record, seq: seq, context: context) { (r) throws(EventDecodingError) in
            try r.string(using: &strings)
        }
    }

    /// The decode, with `string` reading the owner and the actor id.
    @inline(__always)
    private static func decode(
        _ record: UnsafeRawBufferPointer, seq: UInt64, context: Context,
        string: (inout BinaryReader) throws(EventDecodingError) -> String
    ) throws(EventDecodingError) -> Event {
        var r = BinaryReader(record)
        let v = try r.u8()
        guard v == version else { throw r.fail("unknown record version \(v)") }
        let rawType = try r.u8()
        guard let type = EventType(rawValue: rawType) else { throw r.fail("unknown event type \(rawType)") }
        let time = try r.i64()
        guard let keyID = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad key id") }
        let owner = try string(&r)
        let rawKind = try r.u8()
        guard let kind = Actor.Kind(rawValue: rawKind) else { throw r.fail("unknown actor kind \(rawKind)") }
        var actor = Actor(kind: kind, id: "")
        var ip: IPAddress?
        var requestID: String?
        if context == .minimal {
            try r.skipString()
        } else {
            actor.id = try string(&r)
        }
        let ipLength = Int(try r.u8())
        guard ipLength == 0 || ipLength == 4 || ipLength == 16 else { throw r.fail("bad ip length \(ipLength)") }
        let ipBytes = try r.raw(ipLength)
        if context != .minimal, ipLength != 0 { ip = IPAddress(bytes: ipBytes) }
        if context == .all {
            requestID = try r.optionalString()
        } else {
            try r.skipOptionalString()
        }
        let payload = try decodePayload(type, &r, accessDetails: context == .all)
        guard r.isAtEnd else { throw r.fail("trailing bytes") }
        return Event(
            seq: seq, time: time, keyID: keyID, owner: owner, actor: actor, ip: ip,
            requestID: requestID, payload: payload)
    }
}
