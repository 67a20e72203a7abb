/// The hashes of an RFC 9162 (section 2.1.1) Merkle tree over the log's records.
///
/// Leaf `i` (0-based) is the record of the event with seq `i + 1`.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of the empty string.
    public static let emptyRoot = Digest.sha256(UnsafeRawBufferPointer(start: nil, count: 0))

    /// SHA-256(0x00 || record): the hash of one leaf.
    public static func leaf(_ record: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256Hasher()
        hasher.update(byte: 0)
        hasher.update(record)
        return hasher.finish()
    }

    /// SHA-256(0x01 || left || right): the hash of an interior node.
    public static func node(_ left: Digest, _ right: Digest) -> Digest {
        // The 65 bytes laid out on the stack and hashed in one update: a tile's row
        // hashes a node per leaf, and each update call costs about what a copy does.
        var input: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &input) { bytes in
            bytes[0] = 1
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[1..<33]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[33..<65]).copyMemory(from: $0) }
            var hasher = SHA256Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[0..<65]))
            return hasher.finish()
        }
    }
}
