/// Base62 digits `0-9A-Za-z`, in that order (API.md), so that fixed-width base62 text
/// sorts like the number it encodes.
public enum Base62 {
    /// The 62 digits as ASCII bytes.
    public static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The value of an ASCII digit, or nil for a byte that is not one.
    @inline(__always)
    public static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte &- UInt8(ascii: "A") &+ 10
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte &- UInt8(ascii: "a") &+ 36
        default: return nil
        }
    }

    /// `value` written with exactly `width` digits, most significant first.
    /// - Precondition: `value < 62^width`.
    public static func encode(_ value: UInt64, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var i = width - 1
        while i >= 0 {
            out[i] = digits[Int(rest % 62)]
            rest /= 62
            i -= 1
        }
        return out
    }
}
