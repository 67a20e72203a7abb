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
        w.u8(version)
        w.u8(event.type.rawValue)
        w.i64(event.time)
        w.raw(event.keyID.bytes)
        w.string(event.owner)
        w.u8(event.actor.kind.rawValue)
        w.string(event.actor.id)
        if let ip = event.ip {
            let bytes = ip.bytes
            w.u8(UInt8(bytes.count))
            w.raw(bytes)
        } else {
            w.u8(0)
        }
        w.optionalString(event.requestID)
        encodePayload(event.payload, into: &w)
        return w.bytes
    }

    /// Decodes a record; `seq` is the log key it was stored under.
    ///
    /// - Parameter context: false skips actor, ip and request id (left as placeholders)
    ///   for folds that do not need them, saving their allocations during replay.
    public static func decode(_ record: UnsafeRawBufferPointer, seq: UInt64, context: Bool = true)
        throws(EventDecodingError) -> Event
    {
        var r = BinaryReader(record)
        let v = try r.u8()
        guard v == version else { throw r.fail("unknown record version \(v)") }
        let rawType = try r.u8()
        guard let type = EventType(rawValue: rawType) else { throw r.fail("unknown event type \(rawType)") }
        let time = try r.i64()
        guard let keyID = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad key id") }
        let owner = try r.string()
        let rawKind = try r.u8()
        guard let kind = Actor.Kind(rawValue: rawKind) else { throw r.fail("unknown actor kind \(rawKind)") }
        var actor = Actor(kind: kind, id: "")
        var ip: IPAddress?
        var requestID: String?
        if context {
            actor.id = try r.string()
        } else {
            try r.skipString()
        }
        let ipLength = Int(try r.u8())
        guard ipLength == 0 || ipLength == 4 || ipLength == 16 else { throw r.fail("bad ip length \(ipLength)") }
        let ipBytes = try r.raw(ipLength)
        if context {
            ip = ipLength == 0 ? nil : IPAddress(bytes: ipBytes)
            requestID = try r.optionalString()
        } else if try r.u8() == 1 {
            try r.skipString()
        }
        let payload = try decodePayload(type, &r)
        guard r.isAtEnd else { throw r.fail("trailing bytes") }
        return Event(
            seq: seq, time: time, keyID: keyID, owner: owner, actor: actor, ip: ip,
            requestID: requestID, payload: payload)
    }
}
