internal import CCrypto

/// An ECDSA public key on P-256 (what secret scanners sign their reports with), read
/// from PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo).
public final class ECDSAPublicKey: @unchecked Sendable {
    // Safe to share: the EVP_PKEY is never changed after init, and libcrypto allows
    // concurrent verifications with one key, each in a context of its own.
    private let key: OpaquePointer

    /// The key of a PEM text; nil when it is not a P-256 public key.
    public init?(pem: String) {
        let bytes = Array(pem.utf8)
        guard
            let bio = bytes.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) })
        else { return nil }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else { return nil }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, EVP_PKEY_get_bits(key) == 256 else {
            EVP_PKEY_free(key)
            return nil
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// True when `signature` (DER, as scanners send it) is this key's ECDSA signature
    /// of SHA-256(`message`).
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard !signature.isEmpty, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }
}
