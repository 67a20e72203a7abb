/// Appends the codec's primitives to a byte buffer: little-endian fixed integers,
/// LEB128 varints and length-prefixed UTF-8.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A writer that appends after `bytes` (taken over: no copy).
    public init(_ bytes: consuming [UInt8]) { self.bytes = bytes }

    /// Empties the buffer and keeps its storage, to write the next record into it.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func i64(_ v: Int64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func varint(_ v: UInt64) {
        var rest = v
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func raw(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// `id`'s 16 big-endian bytes (``KeyID/bytes``), with no array made for them (every
    /// event's record holds one).
    public mutating func keyID(_ id: KeyID) {
        withUnsafeBytes(of: id.high.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.low.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The length, then the UTF-8 bytes, copied from the string's own storage (not
    /// through its generic UTF-8 view: every event's record holds several strings).
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: UnsafeRawBufferPointer(utf8))
        }
    }

    public mutating func optionalString(_ s: String?) {
        guard let s else { return u8(0) }
        u8(1)
        string(s)
    }

    public mutating func optionalI64(_ v: Int64?) {
        guard let v else { return u8(0) }
        u8(1)
        i64(v)
    }

    public mutating func strings(_ list: [String]) {
        varint(UInt64(list.count))
        for s in list { string(s) }
    }

    public mutating func digest(_ d: Digest) { d.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    /// `ip`'s length (4 or 16), then its bytes (``IPAddress/bytes``), with no array made.
    public mutating func ip(_ ip: IPAddress) {
        ip.withUnsafeBytes { ip in
            u8(UInt8(ip.count))
            bytes.append(contentsOf: ip)
        }
    }
}
