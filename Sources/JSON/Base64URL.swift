/// Base64url (RFC 4648 §5) without padding, for opaque tokens such as pagination
/// cursors that travel in URLs.
///
/// Decoding is strict so every byte string has exactly one accepted encoding: it
/// rejects characters outside `A-Z a-z 0-9 - _` (including `=` padding and
/// whitespace), lengths that leave a single character over, and unused trailing
/// bits that are not zero.
public enum Base64URL {
    private static let alphabet: StaticString =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// Encodes `bytes` as unpadded base64url.
    public static func encode(_ bytes: [UInt8]) -> String {
        let length = (bytes.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: length) { out in
            let symbols = alphabet.utf8Start
            var written = 0
            var index = 0
            while index < bytes.count {
                let remaining = bytes.count - index
                var group = UInt32(bytes[index]) << 16
                if remaining > 1 { group |= UInt32(bytes[index + 1]) << 8 }
                if remaining > 2 { group |= UInt32(bytes[index + 2]) }
                // 1, 2 or 3 bytes make 2, 3 or 4 symbols.
                for position in 0...min(remaining, 3) {
                    let shift = UInt32(18 - 6 * position)
                    out[written] = symbols[Int(group >> shift & 0x3F)]
                    written += 1
                }
                index += 3
            }
            return written
        }
    }

    /// Decodes unpadded base64url.
    ///
    /// - Returns: The bytes, or `nil` when `text` is not the canonical encoding of
    ///   any byte string (see the type's documentation).
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard utf8.count % 4 != 1 else { return nil }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(utf8.count * 3 / 4)
            var group: UInt32 = 0
            var symbols = 0
            for character in utf8 {
                guard let value = sextet(character) else { return nil }
                group = group << 6 | UInt32(value)
                symbols += 1
                if symbols == 4 {
                    bytes.append(UInt8(truncatingIfNeeded: group >> 16))
                    bytes.append(UInt8(truncatingIfNeeded: group >> 8))
                    bytes.append(UInt8(truncatingIfNeeded: group))
                    group = 0
                    symbols = 0
                }
            }
            switch symbols {
            case 2:
                guard group & 0xF == 0 else { return nil }
                bytes.append(UInt8(truncatingIfNeeded: group >> 4))
            case 3:
                guard group & 0x3 == 0 else { return nil }
                bytes.append(UInt8(truncatingIfNeeded: group >> 10))
                bytes.append(UInt8(truncatingIfNeeded: group >> 2))
            default:
                break
            }
            return bytes
        }
    }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
