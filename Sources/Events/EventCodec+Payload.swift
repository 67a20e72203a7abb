extension EventCodec {
    public static func encodePayload(_ payload: EventPayload, into w: inout BinaryWriter) {
        switch payload {
        case .created(let c):
            w.string(c.name)
            w.string(c.prefix)
            w.string(c.environment)
            w.strings(c.scopes)
            w.strings(c.accounts)
            encode(c.ipAllowlist, &w)
            w.optionalI64(c.expiresAt)
            encode(c.rateLimits, &w)
            w.optionalI64(c.credits)
            encode(c.metadata, &w)
            w.digest(c.secretDigest)
        case .updated(let u):
            // A bit per field present, then the present fields in order.
            var mask: UInt8 = 0
            if u.name != nil { mask |= 1 }
            if u.scopes != nil { mask |= 2 }
            if u.accounts != nil { mask |= 4 }
            if u.ipAllowlist != nil { mask |= 8 }
            if u.expiresAt != nil { mask |= 16 }
            if u.rateLimits != nil { mask |= 32 }
            if u.metadata != nil { mask |= 64 }
            w.u8(mask)
            if let name = u.name { w.string(name) }
            if let scopes = u.scopes { w.strings(scopes) }
            if let accounts = u.accounts { w.strings(accounts) }
            if let list = u.ipAllowlist { encode(list, &w) }
            if let expiresAt = u.expiresAt { w.optionalI64(expiresAt) }
            if let limits = u.rateLimits { encode(limits, &w) }
            if let metadata = u.metadata { encode(metadata, &w) }
        case .rotated(let r):
            w.digest(r.secretDigest)
            w.varint(UInt64(r.gracePeriodSeconds))
            w.i64(r.previousSecretExpiresAt)
        case .suspended(let reason), .revoked(let reason):
            w.optionalString(reason)
        case .reactivated, .expired:
            break
        case .creditsAdded(let add, let balance):
            w.i64(add)
            w.i64(balance)
        case .creditsSet(let balance):
            w.i64(balance)
        case .creditsSubtracted(let subtract, let balance):
            w.i64(subtract)
            w.i64(balance)
        case .ownerUpdated, .planUpdated, .configured, .creditsRefilled, .ownerCreditsRefilled, .purged:
            encodeQuota(payload, into: &w)
        case .accessed(let a):
            w.u8(a.code.rawValue)
            w.optionalString(a.scope)
            w.optionalString(a.account)
            w.optionalString(a.endpoint)
            w.varint(UInt64(a.latencyMicros))
            w.varint(UInt64(a.cost))
            // Present only for a management credential's use: the record ends after cost otherwise.
            if let status = a.status { w.varint(UInt64(status)) }
        case .request(let r):
            encodeRequest(r, into: &w)
        case .authFailed(let f):
            encodeAuthFailed(f, into: &w)
        case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled,
            .expiring, .leaked:
            encodeNotification(payload, into: &w)
        }
    }

    /// Decodes the payload of a `type` event.
    ///
    /// - Parameter accessDetails: false leaves an access's scope, account and endpoint
    ///   nil (checked, not decoded), but for the endpoint of a management credential's
    ///   use (one with a status), which the audit fold files by route.
    public static func decodePayload(_ type: EventType, _ r: inout BinaryReader, accessDetails: Bool)
        throws(EventDecodingError)
        -> EventPayload
    {
        switch type {
        case .created:
            return .created(
                KeyCreated(
                    name: try r.string(), prefix: try r.string(), environment: try r.string(),
                    scopes: try r.strings(), accounts: try r.strings(), ipAllowlist: try cidrs(&r),
                    expiresAt: try r.optionalI64(), rateLimits: try rateLimits(&r), credits: try r.optionalI64(),
                    metadata: try metadata(&r), secretDigest: try r.digest()))
        case .updated:
            let mask = try r.u8()
            guard mask & 0x80 == 0 else { throw r.fail("unknown update fields") }
            var u = KeyUpdated()
            if mask & 1 != 0 { u.name = try r.string() }
            if mask & 2 != 0 { u.scopes = try r.strings() }
            if mask & 4 != 0 { u.accounts = try r.strings() }
            if mask & 8 != 0 { u.ipAllowlist = try cidrs(&r) }
            if mask & 16 != 0 { u.expiresAt = .some(try r.optionalI64()) }
            if mask & 32 != 0 { u.rateLimits = try rateLimits(&r) }
            if mask & 64 != 0 { u.metadata = try metadata(&r) }
            return .updated(u)
        case .rotated:
            let digest = try r.digest()
            let grace = try r.varint()
            guard grace <= UInt64(UInt32.max) else { throw r.fail("grace period out of range") }
            return .rotated(
                KeyRotated(
                    secretDigest: digest, gracePeriodSeconds: UInt32(grace),
                    previousSecretExpiresAt: try r.i64()))
        case .suspended:
            return .suspended(reason: try r.optionalString())
        case .revoked:
            return .revoked(reason: try r.optionalString())
        case .reactivated:
            return .reactivated
        case .expired:
            return .expired
        case .creditsAdded:
            return .creditsAdded(add: try r.i64(), balance: try r.i64())
        case .creditsSet:
            return .creditsSet(balance: try r.i64())
        case .creditsSubtracted:
            return .creditsSubtracted(subtract: try r.i64(), balance: try r.i64())
        case .ownerUpdated, .planUpdated, .configured, .creditsRefilled, .ownerCreditsRefilled, .purged:
            return try decodeQuota(type, &r)
        case .accessed:
            let raw = try r.u8()
            guard let code = VerifyCode(rawValue: raw) else { throw r.fail("unknown verify code \(raw)") }
            var scope: String?
            var account: String?
            var endpoint: String?
            let details = r
            if accessDetails {
                scope = try r.optionalString()
                account = try r.optionalString()
                endpoint = try r.optionalString()
            } else {
                for _ in 0..<3 { try r.skipOptionalString() }
            }
            let latency = try r.varint()
            let cost = try r.varint()
            guard latency <= UInt64(UInt32.max), cost <= UInt64(UInt32.max) else {
                throw r.fail("access figures out of range")
            }
            let status = r.isAtEnd ? nil : try httpStatus(&r)
            if !accessDetails, status != nil {
                // A management use's route is an audit facet: its endpoint is always decoded.
                var d = details
                try d.skipOptionalString()
                try d.skipOptionalString()
                endpoint = try d.optionalString()
            }
            return .accessed(
                KeyAccessed(
                    code: code, scope: scope, account: account, endpoint: endpoint,
                    latencyMicros: UInt32(latency), cost: UInt32(cost), status: status))
        case .request:
            return .request(try decodeRequest(&r))
        case .authFailed:
            return .authFailed(try decodeAuthFailed(&r))
        case .webhookCreated, .webhookUpdated, .webhookDeleted, .webhookSecretRotated, .webhookDisabled,
            .expiring, .leaked:
            return try decodeNotification(type, &r)
        }
    }

    private static func encode(_ list: [CIDR], _ w: inout BinaryWriter) {
        w.varint(UInt64(list.count))
        for range in list {
            w.ip(range.network)
            w.u8(UInt8(range.prefixLength))
        }
    }

    private static func cidrs(_ r: inout BinaryReader) throws(EventDecodingError) -> [CIDR] {
        let n = try r.count(limit: 10_000)
        var list = [CIDR]()
        for _ in 0..<n {
            let length = Int(try r.u8())
            guard length == 4 || length == 16, let address = IPAddress(bytes: try r.raw(length)) else {
                throw r.fail("bad network address")
            }
            let prefix = Int(try r.u8())
            guard prefix <= (address.isV4 ? 32 : 128) else { throw r.fail("bad prefix length") }
            list.append(CIDR(network: address, prefixLength: prefix))
        }
        return list
    }

    /// Set in a rate-limit list's count when every limit is followed by its optional
    /// name. Lists without names keep the first layout byte for byte.
    static let namedLimitsFlag: UInt64 = 1 << 32

    static func encode(_ limits: [RateLimit], _ w: inout BinaryWriter) {
        let named = limits.contains { $0.name != nil }
        w.varint(UInt64(limits.count) | (named ? namedLimitsFlag : 0))
        for limit in limits {
            w.varint(limit.limit)
            w.varint(UInt64(limit.windowSeconds))
            if named { w.optionalString(limit.name) }
        }
    }

    static func rateLimits(_ r: inout BinaryReader) throws(EventDecodingError) -> [RateLimit] {
        let raw = try r.varint()
        let named = raw & namedLimitsFlag != 0
        let n = raw & ~namedLimitsFlag
        guard n <= 1000 else { throw r.fail("too many rate limits") }
        var list = [RateLimit]()
        for _ in 0..<n {
            let limit = try r.varint()
            let window = try r.varint()
            guard window <= UInt64(UInt32.max) else { throw r.fail("window out of range") }
            let name = named ? try r.optionalString() : nil
            list.append(RateLimit(name: name, limit: limit, windowSeconds: UInt32(window)))
        }
        return list
    }

    /// Metadata is written sorted by key, so equal maps encode to equal bytes.
    static func encode(_ metadata: [String: String], _ w: inout BinaryWriter) {
        w.varint(UInt64(metadata.count))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            w.string(key)
            w.string(value)
        }
    }

    static func metadata(_ r: inout BinaryReader) throws(EventDecodingError) -> [String: String] {
        let n = try r.count(limit: 10_000)
        var map = [String: String](minimumCapacity: n)
        var previous: String?
        for _ in 0..<n {
            let key = try r.string()
            // In the order `encode` writes them, so a map has one spelling (and no key twice).
            if let previous, !(previous < key) { throw r.fail("metadata keys out of order or repeated") }
            map[key] = try r.string()
            previous = key
        }
        return map
    }
}
