internal import CCrypto

/// An Ed25519 (RFC 8032) signing key, through libcrypto's `EVP_PKEY_ED25519`.
///
/// Holds the 32-byte seed; ``publicKey`` is derived from it once.
public struct Ed25519PrivateKey: Sendable {
    /// The 32-byte seed (RFC 8032's private key).
    public let seed: [UInt8]
    /// The 32-byte public key.
    public let publicKey: [UInt8]

    /// A new key from the kernel's random source.
    public static func generate() -> Ed25519PrivateKey? { Ed25519PrivateKey(seed: SystemRandom.bytes(32)) }

    /// The key of a 32-byte seed; nil for another length or when libcrypto refuses it.
    public init?(seed: [UInt8]) {
        guard seed.count == 32 else { return nil }
        guard
            let key = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { return nil }
        defer { EVP_PKEY_free(key) }
        var publicKey = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key, &publicKey, &length) == 1, length == 32 else { return nil }
        self.seed = seed
        self.publicKey = publicKey
    }

    /// The 64-byte signature of `message`; nil only when libcrypto fails.
    public func sign(_ message: [UInt8]) -> [UInt8]? {
        guard
            let key = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { return nil }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1, length == 64 else {
            return nil
        }
        return signature
    }
}

/// Ed25519 signature verification (libcrypto).
public enum Ed25519 {
    /// True when `signature` is `publicKey`'s valid signature of `message`.
    public static func verify(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64,
            let key = publicKey.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, 64, message, message.count) == 1
    }
}
