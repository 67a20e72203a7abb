extension Secret {
    /// True when `secret` has the shape of a KeyLedger secret (a valid prefix, then 43
    /// base62 characters), whatever its checksum. Such a secret must pass the checksum
    /// before any lookup; any other secret is a foreign one (an imported key's) and is
    /// looked up by its SHA-256.
    public static func hasLedgerShape(_ secret: String) -> Bool {
        let bytes = Array(secret.utf8)
        let tail = 43
        guard bytes.count > tail, bytes.count <= tail + 33 else { return false }
        let prefixEnd = bytes.count - tail
        guard isValidPrefix(String(decoding: bytes[..<prefixEnd], as: UTF8.self)) else { return false }
        return bytes[prefixEnd...].allSatisfy { Base62.value(of: $0) != nil }
    }
}
