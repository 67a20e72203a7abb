/// API key secrets: `<prefix><37 random base62><6 base62 CRC-32>` (API.md).
///
/// A secret exists in memory only between its creation and the response that hands it
/// out; what is stored and logged is its ``Digest`` (SHA-256), never the text.
public enum Secret {
    /// Random base62 characters after the prefix.
    public static let randomLength = 37
    /// Checksum characters at the end.
    public static let checksumLength = 6

    /// A new secret with `prefix`, its random part drawn from `random`.
    /// - Precondition: `isValidPrefix(prefix)`.
    public static func generate(prefix: String, using random: inout some RandomNumberGenerator) -> String {
        var body = Array(prefix.utf8)
        body.reserveCapacity(body.count + randomLength + checksumLength)
        while body.count < prefix.utf8.count + randomLength {
            // Rejection sampling keeps every digit equally likely: 248 = 4 * 62.
            let byte = UInt8(truncatingIfNeeded: random.next())
            if byte < 248 { body.append(Base62.digits[Int(byte % 62)]) }
        }
        body += Base62.encode(UInt64(CRC32.checksum(body)), width: checksumLength)
        return String(decoding: body, as: UTF8.self)
    }

    /// True when `prefix` matches `^[a-z][a-z0-9]{0,15}_([a-z0-9]{1,15}_)?$`.
    public static func isValidPrefix(_ prefix: some StringProtocol) -> Bool {
        var text = String(prefix)
        return text.withUTF8 { isValidPrefix(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// ``isValidPrefix(_:)`` for bytes in memory, with no allocation.
    public static func isValidPrefix(bytes p: UnsafeRawBufferPointer) -> Bool {
        func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        let underscore = UInt8(ascii: "_")
        guard p.count >= 2, p[p.count - 1] == underscore, p[0] >= 97, p[0] <= 122 else { return false }
        // The first part: up to the first "_", at most 16 characters.
        var end = 1
        while p[end] != underscore {
            guard isLowerAlnum(p[end]) else { return false }
            end += 1
        }
        guard end <= 16 else { return false }
        if end == p.count - 1 { return true }
        // The optional second part, between that "_" and the last: 1 to 15 characters.
        let second = (end + 1)..<(p.count - 1)
        guard (1...15).contains(second.count) else { return false }
        for i in second where !isLowerAlnum(p[i]) { return false }
        return true
    }

    /// True when `secret` has a valid prefix, 43 base62 characters after it, and a
    /// matching checksum. Refuses without touching any storage, so malformed guesses
    /// cost one CRC and nothing else.
    public static func isWellFormed(_ secret: UnsafeRawBufferPointer) -> Bool {
        let tail = randomLength + checksumLength
        // The longest prefix is 33 bytes (16 + "_" + 15 + "_").
        guard secret.count > tail, secret.count <= tail + 33 else { return false }
        let bodyEnd = secret.count - checksumLength
        let prefixEnd = secret.count - tail
        guard isValidPrefix(bytes: UnsafeRawBufferPointer(rebasing: secret[..<prefixEnd])) else { return false }
        var checksum: UInt64 = 0
        for byte in secret[bodyEnd...] {
            guard let digit = Base62.value(of: byte) else { return false }
            checksum = checksum * 62 + UInt64(digit)
        }
        for byte in secret[prefixEnd..<bodyEnd] where Base62.value(of: byte) == nil { return false }
        return checksum == UInt64(CRC32.checksum(UnsafeRawBufferPointer(rebasing: secret[..<bodyEnd])))
    }

    /// ``isWellFormed(_:)`` for text.
    public static func isWellFormed(_ secret: String) -> Bool {
        var copy = secret
        return copy.withUTF8 { isWellFormed(UnsafeRawBufferPointer($0)) }
    }

    /// The digest stored for `secret`: SHA-256 of its UTF-8 bytes.
    public static func digest(_ secret: String) -> Digest {
        var copy = secret
        return copy.withUTF8 { Digest.sha256(UnsafeRawBufferPointer($0)) }
    }
}
