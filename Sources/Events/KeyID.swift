/// The identifier of an API key: 48 bits of creation time in milliseconds then 80
/// random bits, written `key_` + 22 base62 digits, so ids sort by creation time.
public struct KeyID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The high and low 64 bits, big-endian order (time first).
    public let high: UInt64
    public let low: UInt64

    /// The id of no key (all zero bits): events about the ledger, an owner, a plan or a
    /// webhook carry it, and their JSON has no `keyId`.
    public static let none = KeyID(high: 0, low: 0)

    public var isNone: Bool { high == 0 && low == 0 }

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A new id for a key created at `micros` (µs since the epoch).
    public static func make(at micros: Int64, using random: inout some RandomNumberGenerator) -> KeyID {
        let millis = UInt64(max(0, micros / 1000)) & 0xFFFF_FFFF_FFFF
        return KeyID(high: millis << 16 | (random.next() & 0xFFFF), low: random.next())
    }

    /// Parses `key_` + 22 base62 digits; nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let id = Array(text.utf8).withUnsafeBytes({ KeyID(utf8: $0) }) else { return nil }
        self = id
    }

    /// Parses `key_` + 22 base62 digits; nil for anything else. Reads the string's own
    /// UTF-8 storage: no copy, no generic code (audit folds call this per event).
    public init?(_ text: String) {
        var text = text
        guard let id = text.withUTF8({ KeyID(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = id
    }

    /// Parses the UTF-8 bytes of `key_` + 22 base62 digits; nil for anything else.
    public init?(utf8: UnsafeRawBufferPointer) {
        guard utf8.count == 26, utf8[0] == UInt8(ascii: "k"), utf8[1] == UInt8(ascii: "e"),
            utf8[2] == UInt8(ascii: "y"), utf8[3] == UInt8(ascii: "_")
        else { return nil }
        // Limbs of 2, 10 and 10 digits, each below 62^10 and so summed in 64 bits with
        // no overflow to check; then joined in 128 bits, refusing overflow (audit folds
        // parse an id per event).
        func limb(_ start: Int, _ count: Int) -> UInt64? {
            var value: UInt64 = 0
            for i in start..<(start + count) {
                guard let digit = Base62.value(of: utf8[i]) else { return nil }
                value = value &* 62 &+ UInt64(digit)
            }
            return value
        }
        guard let top = limb(4, 2), let middle = limb(6, 10), let bottom = limb(16, 10) else { return nil }
        let base: UInt64 = 839_299_365_868_340_224  // 62^10
        // top * 62^10 + middle, below 62^12 < 2^72: two words, the high one small.
        let upper = top.multipliedFullWidth(by: base)
        let (upperLow, carry) = upper.low.addingReportingOverflow(middle)
        let upperHigh = upper.high &+ (carry ? 1 : 0)
        // (upperHigh, upperLow) * 62^10 + bottom.
        let lowProduct = upperLow.multipliedFullWidth(by: base)
        let (highTimes, highOverflow) = upperHigh.multipliedReportingOverflow(by: base)
        let (highSum, sumOverflow) = highTimes.addingReportingOverflow(lowProduct.high)
        let (low, lowCarry) = lowProduct.low.addingReportingOverflow(bottom)
        let (high, lastOverflow) = highSum.addingReportingOverflow(lowCarry ? 1 : 0)
        guard !highOverflow, !sumOverflow, !lastOverflow else { return nil }
        self.init(high: high, low: low)
    }

    /// `key_` + 22 base62 digits.
    public var description: String {
        // Two 128-by-64-bit divisions by 62^10 split the id into base-62^10 limbs that
        // fit 64 bits; each limb then renders with cheap 64-bit divisions (the writer
        // renders an id for every verification it records).
        let limb: UInt64 = 839_299_365_868_340_224  // 62^10
        func divide(_ high: UInt64, _ low: UInt64) -> (high: UInt64, low: UInt64, remainder: UInt64) {
            let (qh, rh) = high.quotientAndRemainder(dividingBy: limb)
            let (ql, r) = limb.dividingFullWidth((high: rh, low: low))
            return (qh, ql, r)
        }
        let first = divide(high, low)
        let second = divide(first.high, first.low)
        // One allocation: the string's own storage, written in place.
        return String(unsafeUninitializedCapacity: 26) { text in
            text[0] = UInt8(ascii: "k")
            text[1] = UInt8(ascii: "e")
            text[2] = UInt8(ascii: "y")
            text[3] = UInt8(ascii: "_")
            Base62.digits.withUnsafeBufferPointer { digits in
                func render(_ value: UInt64, end: Int, count: Int) {
                    var value = value
                    for i in stride(from: end - 1, through: end - count, by: -1) {
                        text[i] = digits[Int(value % 62)]
                        value /= 62
                    }
                }
                // Most significant first: 2 digits (below 62^2, as ids are below 2^128), 10, 10.
                render(second.low, end: 6, count: 2)
                render(second.remainder, end: 16, count: 10)
                render(first.remainder, end: 26, count: 10)
            }
            return 26
        }
    }

    /// The 16 bytes, big-endian: the order of these bytes is the order of the ids.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        withUnsafeBytes(of: high.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: low.bigEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// Reads 16 big-endian bytes; nil for any other length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        self.init(
            high: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
            low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    public static func < (a: KeyID, b: KeyID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}
