/// An event as stored in the log: its record, then `prevHash`, then
/// `hash = SHA-256(prevHash || record)`.
public enum ChainedRecord {
    /// Bytes the two hashes add after the record.
    public static let trailerSize = 64

    /// The stored value for `record` following `prevHash`, and the new head hash.
    /// Takes `record` over (its buffer usually has room for the hashes: no copy).
    public static func seal(_ record: consuming [UInt8], after prevHash: Digest) -> (value: [UInt8], hash: Digest) {
        var value = BinaryWriter(record)
        let hash = seal(&value, after: prevHash)
        return (value.bytes, hash)
    }

    /// Makes the record in `value` the stored value following `prevHash`, in place (the
    /// hashes appended to it); returns the new head hash.
    public static func seal(_ value: inout BinaryWriter, after prevHash: Digest) -> Digest {
        let hash = value.withUnsafeBytes { Digest.sha256(prevHash, $0) }
        value.digest(prevHash)
        value.digest(hash)
        return hash
    }

    /// Splits a stored value into record, prevHash and hash, without copying.
    public static func split(_ value: UnsafeRawBufferPointer) throws(EventDecodingError) -> (
        record: UnsafeRawBufferPointer, prevHash: Digest, hash: Digest
    ) {
        guard value.count > trailerSize else {
            throw EventDecodingError(offset: 0, reason: "stored event shorter than its hashes")
        }
        let end = value.count - trailerSize
        guard let prev = Digest(bytes: UnsafeRawBufferPointer(rebasing: value[end..<end + 32])),
            let hash = Digest(bytes: UnsafeRawBufferPointer(rebasing: value[(end + 32)...]))
        else {
            throw EventDecodingError(offset: end, reason: "bad hashes")
        }
        return (UnsafeRawBufferPointer(rebasing: value[..<end]), prev, hash)
    }

    /// The record of a stored value, without its hashes (no copy; what a replay reads).
    public static func record(of value: UnsafeRawBufferPointer) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        guard value.count > trailerSize else {
            throw EventDecodingError(offset: 0, reason: "stored event shorter than its hashes")
        }
        return UnsafeRawBufferPointer(rebasing: value[..<(value.count - trailerSize)])
    }

    /// True when the stored hash is `SHA-256(prevHash || record)`.
    public static func isIntact(record: UnsafeRawBufferPointer, prevHash: Digest, hash: Digest) -> Bool {
        Digest.sha256(prevHash, record) == hash
    }

    /// The public id of the event stored with `hash`: `evt_` + the first 12 bytes in hex.
    public static func eventID(_ hash: Digest) -> String {
        "evt_" + Hex.encode(hash.bytes.prefix(12))
    }
}
