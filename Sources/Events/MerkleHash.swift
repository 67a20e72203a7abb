/// The hashes of an RFC 9162 (section 2.1.1) Merkle tree over the log's records.
///
/// Leaf `i` (0-based) is the record of the event with seq `i + 1`.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of the empty string.
    public static let emptyRoot = Digest.sha256(UnsafeRawBufferPointer(start: nil, count: 0))

    /// SHA-256(0x00 || record): the hash of one leaf.
    public static func leaf(_ record: UnsafeRawBufferPointer) -> Digest {
        // The one-shot SHA256() over one buffer (on the stack for a record of a few
        // hundred bytes): the EVP context of a streaming hash allocates.
        withUnsafeTemporaryAllocation(byteCount: record.count + 1, alignment: 8) { buffer in
            buffer[0] = 0
            if record.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: record)
            }
            return Digest.sha256(UnsafeRawBufferPointer(buffer))
        }
    }

    /// SHA-256(0x01 || left || right): the hash of an interior node.
    public static func node(_ left: Digest, _ right: Digest) -> Digest {
        // One 65-byte buffer on the stack for the one-shot hash: a proof or a tile
        // computes hundreds of these, so none allocates.
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = 1
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return Digest.sha256(UnsafeRawBufferPointer(buffer))
        }
    }
}
