public import Events

extension KeyState {
    /// 2 added ``events``; version 1 rows still decode (with 0 events).
    static let formatVersion: UInt8 = 2

    /// The projection row: deterministic bytes (metadata sorted), so an incremental
    /// fold and a replay write identical rows.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        encode(into: &w)
        return w.bytes
    }

    /// Appends ``encoded()``'s bytes to `w` (a writer reused from row to row).
    public func encode(into w: inout BinaryWriter) {
        encodeHead(into: &w)
        EventCodec.encodePayload(.created(attributes), into: &w)
    }

    /// ``encode(into:)``, copying the attributes' bytes from `encoded` when they are the
    /// attributes it holds, and else keeping the new ones there: the attributes are most
    /// of a row and change rarely (a fold writes a key's row again per access).
    public func encode(into w: inout BinaryWriter, reusing encoded: inout EncodedAttributes?) {
        encodeHead(into: &w)
        let attributes = self.attributes
        if let encoded, encoded.attributes == attributes {
            w.raw(encoded.bytes)
            return
        }
        let start = w.count
        EventCodec.encodePayload(.created(attributes), into: &w)
        encoded = EncodedAttributes(attributes: attributes, bytes: w.withUnsafeBytes { Array($0[start...]) })
    }

    /// A row's attributes and their encoded bytes (see ``encode(into:reusing:)``).
    public struct EncodedAttributes: Sendable {
        let attributes: KeyCreated
        let bytes: [UInt8]
    }

    /// The attributes a row ends with, in the event codec's created-payload layout
    /// (without the secret's digest, which the head holds).
    private var attributes: KeyCreated {
        KeyCreated(
            name: name, prefix: prefix, environment: environment, scopes: scopes, accounts: accounts,
            ipAllowlist: ipAllowlist, expiresAt: expiresAt, rateLimits: rateLimits, credits: credits,
            metadata: metadata, secretDigest: .zero)
    }

    /// Everything of a row before its attributes.
    private func encodeHead(into w: inout BinaryWriter) {
        w.u8(Self.formatVersion)
        // The id's 16 bytes from the stack (``KeyID/bytes`` is an array per call).
        withUnsafeBytes(of: (id.high.bigEndian, id.low.bigEndian)) { w.raw($0) }
        w.string(owner)
        w.u8(status.rawValue)
        w.i64(createdAt)
        w.optionalI64(lastUsedAt)
        w.optionalI64(rotatedAt)
        w.varint(version)
        w.varint(events)
        w.digest(secretDigest)
        if let previous = previousSecretDigest {
            w.u8(1)
            w.digest(previous)
        } else {
            w.u8(0)
        }
        w.optionalI64(previousSecretExpiresAt)
        w.varint(UInt64(windows.count))
        for window in windows {
            w.i64(window.start)
            w.varint(window.current)
            w.varint(window.previous)
        }
    }

    /// Decodes a row written by ``encoded()``.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        let format = try r.u8()
        guard format == 1 || format == Self.formatVersion else { throw r.fail("unknown key state version") }
        guard let id = KeyID(bytes: try r.raw(16)) else { throw r.fail("bad key id") }
        let owner = try r.string()
        let rawStatus = try r.u8()
        guard let status = KeyStatus(rawValue: rawStatus) else { throw r.fail("bad status") }
        let createdAt = try r.i64()
        let lastUsedAt = try r.optionalI64()
        let rotatedAt = try r.optionalI64()
        let version = try r.varint()
        let events = format >= 2 ? try r.varint() : 0
        let digest = try r.digest()
        let previous: Digest? = try r.u8() == 1 ? try r.digest() : nil
        let previousExpiresAt = try r.optionalI64()
        let windowCount = try r.count(limit: 1000)
        var windows = [RateWindow]()
        for _ in 0..<windowCount {
            windows.append(RateWindow(start: try r.i64(), current: try r.varint(), previous: try r.varint()))
        }
        guard case .created(let c) = try EventCodec.decodePayload(.created, &r, accessDetails: true), r.isAtEnd else {
            throw r.fail("bad key attributes")
        }
        self.init(id: id, owner: owner, created: c, at: createdAt)
        self.status = status
        self.lastUsedAt = lastUsedAt
        self.rotatedAt = rotatedAt
        self.version = version
        self.events = events
        self.secretDigest = digest
        self.previousSecretDigest = previous
        self.previousSecretExpiresAt = previousExpiresAt
        guard windows.count == rateLimits.count else { throw r.fail("rate windows do not match limits") }
        self.windows = windows
    }
}
