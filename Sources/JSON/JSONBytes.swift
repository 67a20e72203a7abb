/// JSON's pieces written with plain stores into memory the caller has made room in:
/// what ``JSONWriter`` writes its strings and integers with, for a renderer on the hot
/// path that sizes its output once and writes it without the writer's per-piece
/// capacity checks (STYLE.md 12). The bytes are the writer's, so both give the same text.
public enum JSONBytes {
    /// The most bytes ``writeDecimal(_:at:)`` writes: `UInt64.max` has 20 digits.
    public static let maxDecimalLength = 20

    /// The most bytes ``writeQuoted(_:at:)`` writes for `count` bytes of UTF-8: each
    /// input byte becomes at most six (`\u001f`; U+2028's three bytes become `\u2028`),
    /// plus the quotes.
    public static func maxQuotedLength(_ count: Int) -> Int { 6 * count + 2 }

    /// Writes the decimal digits of `value` at `out`, right to left in pairs.
    /// - Returns: how many bytes were written (1 to ``maxDecimalLength``).
    @discardableResult
    public static func writeDecimal(_ value: UInt64, at out: UnsafeMutablePointer<UInt8>) -> Int {
        if value < 10 {
            out[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value)
            return 1
        }
        let digits = decimalDigits(value)
        var position = digits
        var rest = value
        while rest >= 100 {
            position -= 2
            DigitPairs.store(Int(truncatingIfNeeded: rest % 100), at: out + position)
            rest /= 100
        }
        if rest >= 10 {
            DigitPairs.store(Int(truncatingIfNeeded: rest), at: out)
        } else {
            out[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest)
        }
        return digits
    }

    /// How many decimal digits `value` (10 or more) has: up to 8 by comparisons halving
    /// the range, past that by counting on (answers' numbers are mostly short).
    @inline(__always)
    private static func decimalDigits(_ value: UInt64) -> Int {
        if value < 100_000_000 {
            if value < 10_000 { return value < 100 ? 2 : value < 1000 ? 3 : 4 }
            return value < 1_000_000 ? (value < 100_000 ? 5 : 6) : (value < 10_000_000 ? 7 : 8)
        }
        var digits = 9
        var bound: UInt64 = 1_000_000_000
        while digits < 20 && value >= bound {
            digits += 1
            bound = bound &* 10
        }
        return digits
    }

    /// Writes `value` (`-` first when negative) at `out`.
    /// - Returns: how many bytes were written (at most ``maxDecimalLength`` + 1).
    @discardableResult
    public static func writeDecimal(_ value: Int64, at out: UnsafeMutablePointer<UInt8>) -> Int {
        guard value < 0 else { return writeDecimal(value.magnitude, at: out) }
        out[0] = UInt8(ascii: "-")
        return 1 + writeDecimal(value.magnitude, at: out + 1)
    }

    /// True when no byte of `utf8` is a control character, `"`, `\\` or the first byte of
    /// U+2028 or U+2029 (0xE2, which other characters share: those take the slower path).
    public static func needsNoEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0xE2 {
            return false
        }
        return true
    }

    /// Writes `utf8` as a JSON string at `out`, which has room for
    /// ``maxQuotedLength(_:)`` bytes: escaping `"`, `\`, control characters, U+2028 and
    /// U+2029, and copying the runs between escapes in one go.
    /// - Returns: how many bytes were written.
    @discardableResult
    public static func writeQuoted(_ utf8: UnsafeBufferPointer<UInt8>, at out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "\"")
        var written = 1
        if needsNoEscape(utf8) {
            if let source = utf8.baseAddress { (out + 1).update(from: source, count: utf8.count) }
            out[utf8.count + 1] = UInt8(ascii: "\"")
            return utf8.count + 2
        }
        func copy(_ range: Range<Int>) {
            guard let source = utf8.baseAddress, !range.isEmpty else { return }
            (out + written).update(from: source + range.lowerBound, count: range.count)
            written += range.count
        }
        var runStart = 0
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            // The common case first: a byte that is copied as it is.
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2 {
                index += 1
                continue
            }
            switch byte {
            case 0..<0x20, UInt8(ascii: "\""), UInt8(ascii: "\\"):
                copy(runStart..<index)
                written += writeEscape(ascii: byte, at: out + written)
                index += 1
                runStart = index
            // U+2028 and U+2029 (E2 80 A8/A9) end lines in JavaScript, so escape
            // them for anyone embedding the output in a script.
            case 0xE2
            where index + 2 < utf8.count && utf8[index + 1] == 0x80
                && utf8[index + 2] & 0xFE == 0xA8:
                copy(runStart..<index)
                let escape: StaticString = utf8[index + 2] == 0xA8 ? #"\u2028"# : #"\u2029"#
                (out + written).update(from: escape.utf8Start, count: escape.utf8CodeUnitCount)
                written += escape.utf8CodeUnitCount
                index += 3
                runStart = index
            default:
                index += 1
            }
        }
        copy(runStart..<index)
        out[written] = UInt8(ascii: "\"")
        return written + 1
    }

    /// Writes the escape for a quote, backslash or control character.
    private static func writeEscape(ascii byte: UInt8, at out: UnsafeMutablePointer<UInt8>) -> Int {
        out[0] = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out[1] = byte
        case 0x08: out[1] = UInt8(ascii: "b")
        case 0x09: out[1] = UInt8(ascii: "t")
        case 0x0A: out[1] = UInt8(ascii: "n")
        case 0x0C: out[1] = UInt8(ascii: "f")
        case 0x0D: out[1] = UInt8(ascii: "r")
        default:
            let hexDigits: StaticString = "0123456789abcdef"
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = hexDigits.utf8Start[Int(byte >> 4)]
            out[5] = hexDigits.utf8Start[Int(byte & 0x0F)]
            return 6
        }
        return 2
    }
}
