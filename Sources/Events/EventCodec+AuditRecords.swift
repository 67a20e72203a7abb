extension EventCodec {
    /// `str` method, `str` route, `varint` status, `opt<key id>` target, `varint` count.
    static func encodeRequest(_ r: LedgerRequest, into w: inout BinaryWriter) {
        w.string(r.method)
        w.string(r.route)
        w.varint(UInt64(r.status))
        optionalKeyID(r.target, &w)
        w.varint(r.count)
    }

    static func decodeRequest(_ r: inout BinaryReader) throws(EventDecodingError) -> LedgerRequest {
        let method = try r.string()
        let route = try r.string()
        let status = try httpStatus(&r)
        let target = try optionalKeyID(&r)
        return LedgerRequest(method: method, route: route, status: status, target: target, count: try count(&r))
    }

    /// `opt<str>` method, `opt<str>` route, `u8` reason (0: several), `opt<key id>` key, `varint` count.
    static func encodeAuthFailed(_ f: AuthFailed, into w: inout BinaryWriter) {
        w.optionalString(f.method)
        w.optionalString(f.route)
        w.u8(f.reason?.rawValue ?? 0)
        optionalKeyID(f.keyID, &w)
        w.varint(f.count)
    }

    static func decodeAuthFailed(_ r: inout BinaryReader) throws(EventDecodingError) -> AuthFailed {
        let method = try r.optionalString()
        let route = try r.optionalString()
        let raw = try r.u8()
        var reason: AuthFailed.Reason?
        if raw != 0 {
            guard let known = AuthFailed.Reason(rawValue: raw) else {
                throw r.fail("unknown auth failure reason \(raw)")
            }
            reason = known
        }
        let keyID = try optionalKeyID(&r)
        return AuthFailed(method: method, route: route, reason: reason, keyID: keyID, count: try count(&r))
    }

    /// An HTTP status: a `varint` in 100...599.
    static func httpStatus(_ r: inout BinaryReader) throws(EventDecodingError) -> UInt16 {
        let status = try r.varint()
        guard (100...599).contains(status) else { throw r.fail("HTTP status \(status) out of range") }
        return UInt16(status)
    }

    /// How many requests a record stands for: a `varint`, at least 1.
    private static func count(_ r: inout BinaryReader) throws(EventDecodingError) -> UInt64 {
        let count = try r.varint()
        guard count >= 1 else { throw r.fail("a record counts at least one request") }
        return count
    }

    private static func optionalKeyID(_ id: KeyID?, _ w: inout BinaryWriter) {
        guard let id else { return w.u8(0) }
        w.u8(1)
        w.raw(id.bytes)
    }

    private static func optionalKeyID(_ r: inout BinaryReader) throws(EventDecodingError) -> KeyID? {
        switch try r.u8() {
        case 0: return nil
        case 1:
            guard let id = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad key id") }
            return id
        default: throw r.fail("bad optional flag")
        }
    }
}
