internal import Glibc

/// Strings decoded before, handed out again for equal bytes: the owner and actor id of
/// a record are nearly always those of a record decoded shortly before it, and an
/// earlier string shared is a retain where a new one is an allocation, a copy and a
/// validation (and, once the event is gone, a free).
///
/// Direct-mapped: a slot holds the last long string whose bytes hash to it, so the table
/// stays at ``slotCount`` strings however many distinct ones pass through. Strings of
/// at most 15 UTF-8 bytes are stored inline in a `String` (no allocation) and are not
/// kept. Not thread-safe: one decoding thread owns a table.
public struct StringTable {
    /// Slots in the table: 2 to the power ``slotBits``.
    public static let slotCount = 1 << slotBits
    static let slotBits = 12
    /// Empty until the first ``keep(_:for:)``: a table never used allocates nothing.
    private var slots: [String] = []

    public init() {}

    /// The string kept for exactly `bytes`, or nil when none is (then ``keep(_:for:)``
    /// the one decoded from them).
    @inline(__always)
    mutating func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count > 15, !slots.isEmpty else { return nil }
        let slot = Self.slot(bytes)
        return slots.withUnsafeMutableBufferPointer { slots -> String? in
            let known = slots[slot].withUTF8 { utf8 in
                utf8.count == bytes.count && memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            return known ? slots[slot] : nil
        }
    }

    /// Keeps `string`, decoded from `bytes`, for the next ``string(_:)`` of equal bytes.
    @inline(__always)
    mutating func keep(_ string: String, for bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 15 else { return }
        if slots.isEmpty { slots = [String](repeating: "", count: Self.slotCount) }
        slots[Self.slot(bytes)] = string
    }

    /// The slot of bytes (at least 16 of them): their length and first and last 8 bytes,
    /// mixed by a multiplication.
    @inline(__always)
    static func slot(_ bytes: UnsafeRawBufferPointer) -> Int {
        let head = bytes.loadUnaligned(as: UInt64.self)
        let tail = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        let mixed = (head ^ (tail &<< 1 | tail &>> 63) ^ UInt64(bytes.count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> UInt64(64 - slotBits))
    }
}
