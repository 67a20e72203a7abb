internal import Glibc

/// Byte constants and character classes of RFC 9110/9112, for parsing on bytes.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let questionMark: UInt8 = 0x3F
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39

    /// `tchar` of RFC 9110 section 5.6.2 (the bytes of a method or a field name) as two
    /// 64-bit masks over ASCII: plain constants, so a lookup needs no lazy global.
    private static let tokenLow: UInt64 = 0x03FF_6CFA_0000_0000  // ! # $ % & ' * + - . 0-9
    private static let tokenHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // A-Z ^ _ ` a-z | ~

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any of the eight bytes of `word` is `byte`, tested at once (SWAR), for
    /// scans of field values. (In the arithmetic a borrow may also flag bytes above the
    /// one that matches, so it says whether any byte does, not which: that is for a
    /// byte-by-byte look.)
    @inline(__always)
    static func word(_ word: UInt64, hasByte byte: UInt8) -> Bool {
        let zeroed = word ^ (ones &* UInt64(byte))
        return (zeroed &- ones) & ~zeroed & highBits != 0
    }

    /// Whether any of the eight bytes of `word` is under `bound` (at most 0x80; bytes of
    /// 0x80 and over never are), as ``word(_:hasByte:)``.
    @inline(__always)
    static func word(_ word: UInt64, hasByteBelow bound: UInt8) -> Bool {
        (word &- ones &* UInt64(bound)) & ~word & highBits != 0
    }

    /// One shift and test on the mask for the byte's half of ASCII, chosen without a
    /// branch (every byte of every field name passes here, twice).
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        let mask = byte < 64 ? tokenLow : tokenHigh
        return byte < 128 && mask >> (byte & 63) & 1 == 1
    }

    /// A byte allowed in a field value: HTAB, visible ASCII, space, or obs-text.
    @inline(__always)
    static func isFieldValue(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= space && byte != 0x7F)
    }

    /// A byte allowed in a request target: visible ASCII only.
    @inline(__always)
    static func isTarget(_ byte: UInt8) -> Bool {
        byte > space && byte < 0x7F && byte != UInt8(ascii: "#")
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= zero && byte <= nine
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// The index of the first `byte` in `bytes`, found with `memchr` rather than a
    /// generic loop over the slice (the head parser looks for every line end this way).
    @inline(__always)
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer.SubSequence) -> Int? {
        guard !bytes.isEmpty, let base = bytes.base.baseAddress,
            let found = memchr(base + bytes.startIndex, Int32(byte), bytes.count)
        else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Whether `bytes` equals `word` exactly.
    static func equals(_ bytes: UnsafeRawBufferPointer.SubSequence, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { word in
            guard let base = bytes.base.baseAddress, let other = word.baseAddress else { return bytes.isEmpty }
            return memcmp(base + bytes.startIndex, other, word.count) == 0
        }
    }

    /// Whether `bytes` equals the lowercase ASCII `word`, ignoring case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer.SubSequence, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.endIndex - bytes.startIndex == count else { return false }
        guard let base = bytes.base.baseAddress else { return count == 0 }
        let start = bytes.startIndex
        let expected = word.utf8Start
        for offset in 0..<count
        where lowercased(base.load(fromByteOffset: start + offset, as: UInt8.self)) != expected[offset] {
            return false
        }
        return true
    }
}
