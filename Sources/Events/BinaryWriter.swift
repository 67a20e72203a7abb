/// Appends the codec's primitives to a byte buffer: little-endian fixed integers,
/// LEB128 varints and length-prefixed UTF-8.
///
/// Writes into storage it sizes itself (grown by doubling) and counts what it wrote: an
/// `Array.append(contentsOf:)` per primitive cost several times the bytes' copy (every
/// event's record is a dozen primitives). ``bytes`` copies the written bytes out;
/// ``withUnsafeBytes(_:)`` lends them without a copy.
public struct BinaryWriter: Sendable {
    /// The bytes written, then spare room (its size is the writer's capacity).
    private var storage: [UInt8]
    /// How many bytes are written.
    public private(set) var count: Int

    public init(capacity: Int = 256) {
        storage = [UInt8](repeating: 0, count: max(capacity, 16))
        count = 0
    }

    /// A writer that appends after `bytes` (taken over: no copy).
    public init(_ bytes: consuming [UInt8]) {
        count = bytes.count
        storage = bytes
    }

    /// The bytes written, copied out.
    public var bytes: [UInt8] { count == storage.count ? storage : Array(storage[..<count]) }

    /// Calls `body` with the bytes written, valid only during the call (no copy).
    public func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Empties the buffer and keeps its storage, to write the next record into it.
    public mutating func reset() { count = 0 }

    // The primitives are inlined into the codec's encoders (a call each cost more than
    // the bytes' copy).

    /// Makes room for `n` more bytes, lets `body` write them at the end, counts them.
    @inline(__always)
    private mutating func write(_ n: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        guard n > 0 else { return }
        if storage.count - count < n { grow(to: count + n) }
        let at = count
        storage.withUnsafeMutableBytes { storage in
            if let base = storage.baseAddress { body(base + at) }
        }
        count += n
    }

    private mutating func grow(to minimum: Int) {
        storage.append(contentsOf: repeatElement(0, count: max(minimum, storage.count * 2) - storage.count))
    }

    /// Appends `raw`'s bytes.
    @inline(__always)
    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let from = raw.baseAddress else { return }
        write(raw.count) { $0.copyMemory(from: from, byteCount: raw.count) }
    }

    @inline(__always)
    public mutating func u8(_ v: UInt8) {
        if count == storage.count { grow(to: count + 1) }
        storage[count] = v
        count += 1
    }

    @inline(__always)
    public mutating func i64(_ v: Int64) {
        write(8) { $0.storeBytes(of: v.littleEndian, as: Int64.self) }
    }

    @inline(__always)
    public mutating func varint(_ v: UInt64) {
        var rest = v
        while rest >= 0x80 {
            u8(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        u8(UInt8(rest))
    }

    public mutating func raw(_ raw: some Sequence<UInt8>) {
        let copied: Void? = raw.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if copied == nil { for byte in raw { u8(byte) } }
    }

    /// `id`'s 16 big-endian bytes (``KeyID/bytes``), with no array made for them (every
    /// event's record holds one).
    @inline(__always)
    public mutating func keyID(_ id: KeyID) {
        write(16) { out in
            out.storeBytes(of: id.high.bigEndian, as: UInt64.self)
            out.storeBytes(of: id.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
    }

    /// The length, then the UTF-8 bytes, copied from the string's own storage (not
    /// through its generic UTF-8 view: every event's record holds several strings).
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
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

    public mutating func digest(_ d: Digest) { d.withUnsafeBytes { append($0) } }

    /// `ip`'s length (4 or 16), then its bytes (``IPAddress/bytes``), with no array made.
    public mutating func ip(_ ip: IPAddress) {
        ip.withUnsafeBytes { ip in
            u8(UInt8(ip.count))
            append(ip)
        }
    }
}
