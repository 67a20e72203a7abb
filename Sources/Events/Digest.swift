internal import CCrypto

/// A SHA-256 digest: the hash of a secret, or a link of the event hash chain.
///
/// Stored inline (four words), so passing one around allocates nothing.
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// All zero bytes: the `prevHash` of the first event.
    public static let zero = Digest(words: (0, 0, 0, 0))

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// A digest from exactly 32 bytes; nil for any other length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32 else { return nil }
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
    }

    /// The SHA-256 of `data`.
    public static func sha256(_ data: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finish()
    }

    /// The SHA-256 of `first` followed by `second` (one hash-chain link).
    public static func sha256(_ first: Digest, _ second: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256Hasher()
        first.withUnsafeBytes { hasher.update($0) }
        hasher.update(second)
        return hasher.finish()
    }

    /// Calls `body` with the 32 bytes of the digest.
    public func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try Swift.withUnsafeBytes(of: words, body)
    }

    /// The 32 bytes, copied.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Compares in time independent of where the digests differ (`CRYPTO_memcmp`).
    public func constantTimeEquals(_ other: Digest) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, 32) == 0 } }
    }

    /// Lower-case hexadecimal, 64 characters.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func == (a: Digest, b: Digest) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}

/// Lower-case hexadecimal text.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `bytes` as lower-case hex.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A SHA-256 computation through libcrypto's low-level functions: its context lives in
/// the value, so hashing allocates nothing and takes no lock (OpenSSL 3's `SHA256()` and
/// EVP digests fetch the algorithm under a lock and allocate a context on every call; the
/// verify path and a replay hash several times per event).
public struct SHA256Hasher {
    private var context = SHA256_CTX()

    public init() { SHA256_Init(&context) }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard let base = data.baseAddress, data.count > 0 else { return }
        SHA256_Update(&context, base, data.count)
    }

    public mutating func update(byte: UInt8) {
        var byte = byte
        SHA256_Update(&context, &byte, 1)
    }

    public mutating func finish() -> Digest {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { out in
            _ = SHA256_Final(out.baseAddress?.assumingMemoryBound(to: UInt8.self), &context)
        }
        return withUnsafeBytes(of: words) { Digest(bytes: $0)! }
    }
}
