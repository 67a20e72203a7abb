import JSON

/// A C2SP tlog-checkpoint: the origin, the tree size and the root hash.
public struct TreeCheckpoint: Sendable, Equatable {
    public var origin: String
    public var size: UInt64
    public var root: Digest

    public init(origin: String, size: UInt64, root: Digest) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// The note body: origin, size in decimal, root in standard base64, each line
    /// ending in `\n`.
    public var body: String { "\(origin)\n\(size)\n\(Base64.encode(root.bytes))\n" }

    /// The checkpoint of a body; extension lines after the root are allowed and ignored.
    ///
    /// - Throws: ``NoteError`` naming the line that is wrong.
    public init(body: String) throws(NoteError) {
        guard body.hasSuffix("\n") else { throw NoteError("the checkpoint does not end in a newline") }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, !lines[0].isEmpty else { throw NoteError("the checkpoint has fewer than 3 lines") }
        guard let size = UInt64(lines[1]), String(size) == lines[1] else {
            throw NoteError("the checkpoint's tree size is not a decimal number")
        }
        guard let bytes = Base64.decode(lines[2]), let root = bytes.withUnsafeBytes({ Digest(bytes: $0) }) else {
            throw NoteError("the checkpoint's root is not a base64 SHA-256 hash")
        }
        self.init(origin: String(lines[0]), size: size, root: root)
    }

    /// The checkpoint of `note` when it carries a valid signature by `verifier`.
    public init(note: String, verifier: NoteVerifier) throws(NoteError) {
        try self.init(body: verifier.verifiedBody(note))
    }
}
