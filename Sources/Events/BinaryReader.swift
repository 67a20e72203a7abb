/// Why a byte sequence is not a valid record. Decoding never traps on bad input.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public var description: String { "undecodable event record at byte \(offset): \(reason)" }
}

/// Reads the codec's primitives from a byte buffer, throwing on anything out of range.
///
/// The buffer must stay valid while the reader is used (it borrows, not copies).
public struct BinaryReader {
    let buffer: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    public var isAtEnd: Bool { offset == buffer.count }

    public func fail(_ reason: String) -> EventDecodingError { EventDecodingError(offset: offset, reason: reason) }

    public mutating func u8() throws(EventDecodingError) -> UInt8 {
        guard offset < buffer.count else { throw fail("truncated") }
        defer { offset += 1 }
        return buffer[offset]
    }

    public mutating func i64() throws(EventDecodingError) -> Int64 {
        guard buffer.count - offset >= 8 else { throw fail("truncated integer") }
        defer { offset += 8 }
        return Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    public mutating func varint() throws(EventDecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw fail("varint overflows 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // A trailing zero group spells the same number in more bytes: refused, so
                // every record has exactly one encoding.
                guard byte != 0 || shift == 0 else { throw fail("varint not in its shortest form") }
                return value
            }
            shift += 7
        }
    }

    /// A varint that must fit `limit`, used for lengths and counts.
    public mutating func count(limit: Int) throws(EventDecodingError) -> Int {
        let v = try varint()
        // Every counted element takes at least one byte, so no count exceeds what is left.
        guard v <= UInt64(limit), v <= UInt64(buffer.count - offset) else {
            throw fail("length \(v) out of range")
        }
        return Int(v)
    }

    public mutating func raw(_ n: Int) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        guard n >= 0, buffer.count - offset >= n else { throw fail("truncated bytes") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
    }

    public mutating func string() throws(EventDecodingError) -> String {
        try string(length: count(limit: 1 << 20))
    }

    /// The next `n` bytes as a string (a ``string()`` whose length was read).
    private mutating func string(length n: Int) throws(EventDecodingError) -> String {
        let start = offset
        let bytes = try raw(n)
        // ASCII, nearly every string here, is valid UTF-8 as it stands: decoding it is
        // a copy, without the validating initialiser's generic machinery.
        if Self.isASCII(bytes) { return String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw EventDecodingError(offset: start, reason: "invalid UTF-8")
        }
        return s
    }

    /// ``string()``, the string `strings` keeps for the same bytes if there is one (no
    /// allocation), else a new one, which `strings` then keeps.
    @inline(__always)
    public mutating func string(using strings: inout StringTable) throws(EventDecodingError) -> String {
        let n = try count(limit: 1 << 20)
        // In the buffer: ``count(limit:)`` checked that `n` bytes are left.
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
        if let known = strings.string(bytes) {
            offset += n
            return known
        }
        let s = try string(length: n)
        strings.keep(s, for: bytes)
        return s
    }

    /// True when no byte has its top bit set (8 bytes at a time).
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var bits: UInt64 = 0
        while i + 8 <= bytes.count {
            bits |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            bits |= UInt64(bytes[i])
            i += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    public mutating func skipString() throws(EventDecodingError) {
        _ = try raw(count(limit: 1 << 20))
    }

    public mutating func skipOptionalString() throws(EventDecodingError) {
        switch try u8() {
        case 0: return
        case 1: try skipString()
        case let flag: throw fail("bad optional flag \(flag)")
        }
    }

    public mutating func optionalString() throws(EventDecodingError) -> String? {
        switch try u8() {
        case 0: return nil
        case 1: return try string()
        case let flag: throw fail("bad optional flag \(flag)")
        }
    }

    public mutating func optionalI64() throws(EventDecodingError) -> Int64? {
        switch try u8() {
        case 0: return nil
        case 1: return try i64()
        case let flag: throw fail("bad optional flag \(flag)")
        }
    }

    public mutating func strings() throws(EventDecodingError) -> [String] {
        let n = try count(limit: 100_000)
        var list = [String]()
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try string()) }
        return list
    }

    public mutating func digest() throws(EventDecodingError) -> Digest {
        let bytes = try raw(32)
        guard let d = Digest(bytes: bytes) else { throw fail("bad digest") }
        return d
    }
}
