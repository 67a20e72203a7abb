internal import CCrypto

/// Random bytes from the kernel's CSPRNG through OpenSSL (`RAND_bytes`).
///
/// Use it for secrets and identifiers; tests substitute a seeded generator where they
/// need repeatable output.
public struct SystemRandom: RandomNumberGenerator, Sendable {
    public init() {}

    public mutating func next() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { buffer in
            // RAND_bytes fails only if the kernel's generator cannot be read, in which
            // case no secret may be minted at all.
            guard RAND_bytes(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), 8) == 1 else {
                preconditionFailure("RAND_bytes failed: the kernel random source is unavailable")
            }
        }
        return value
    }

    /// Fills `count` bytes with one call (each `RAND_bytes` call has a fixed cost:
    /// a fork check and a parameter lookup inside OpenSSL).
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buffer in
            guard RAND_bytes(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count)) == 1 else {
                preconditionFailure("RAND_bytes failed: the kernel random source is unavailable")
            }
        }
        return out
    }
}
