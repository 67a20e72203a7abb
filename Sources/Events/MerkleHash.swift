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
        var hasher = SHA256Hasher()
        hasher.update(byte: 1)
        left.withUnsafeBytes { hasher.update($0) }
        right.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }
}
