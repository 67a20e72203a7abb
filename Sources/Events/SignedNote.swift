import JSON

/// A C2SP signed-note Ed25519 verifier key: a name and a public key, written as the
/// `vkey` text `<name>+<key hash in 8 hex digits>+<base64(0x01 || public key)>`.
public struct NoteVerifier: Sendable, Equatable {
    /// The Ed25519 algorithm byte of signed notes.
    static let ed25519: UInt8 = 1
    public let name: String
    public let publicKey: [UInt8]
    /// The first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
    public let keyHash: [UInt8]

    /// - Precondition: `name` is a valid key name (``isValidName(_:)``) and `publicKey`
    ///   has 32 bytes.
    public init(name: String, publicKey: [UInt8]) {
        precondition(Self.isValidName(name) && publicKey.count == 32, "bad note key")
        self.name = name
        self.publicKey = publicKey
        keyHash = Self.keyHash(name: name, publicKey: publicKey)
    }

    /// The verifier of a `vkey` text; nil when it is not one (another algorithm, a hash
    /// that does not match the name and key).
    public init?(vkey: some StringProtocol) {
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Self.isValidName(parts[0]), parts[1].utf8.count == 8,
            let hash = UInt32(parts[1], radix: 16), let key = Base64.decode(parts[2]), key.count == 33,
            key[0] == Self.ed25519
        else { return nil }
        self.init(name: String(parts[0]), publicKey: Array(key[1...]))
        guard keyHash == withUnsafeBytes(of: hash.bigEndian, Array.init) else { return nil }
    }

    /// The `vkey` text of this key.
    public var vkey: String { "\(name)+\(Hex.encode(keyHash))+\(Base64.encode([Self.ed25519] + publicKey))" }

    /// A key name: non-empty UTF-8 without spaces, newlines or `+`.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace }
    }

    static func keyHash(name: String, publicKey: [UInt8]) -> [UInt8] {
        let input = Array(name.utf8) + [0x0A, ed25519] + publicKey
        return Array(input.withUnsafeBytes { Digest.sha256($0) }.bytes.prefix(4))
    }

    /// The note's body when `note` carries a valid signature by this key.
    ///
    /// - Throws: ``NoteError`` when the note is malformed or holds no valid signature
    ///   by this key.
    public func verifiedBody(_ note: String) throws(NoteError) -> String {
        let bytes = Array(note.utf8)
        // The body ends at the first empty line; signature lines follow.
        guard let split = (1..<max(1, bytes.count)).first(where: { bytes[$0] == 0x0A && bytes[$0 - 1] == 0x0A }) else {
            throw NoteError("the note has no empty line before its signatures")
        }
        let body = Array(bytes[..<split])
        let signatureText = String(decoding: bytes[(split + 1)...], as: UTF8.self)
        guard signatureText.hasSuffix("\n") else { throw NoteError("the note does not end in a newline") }
        for line in signatureText.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("\u{2014} ") else { throw NoteError("a signature line does not start with \u{2014}") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let blob = Base64.decode(fields[1]), blob.count >= 5 else {
                throw NoteError("a signature line is malformed")
            }
            guard fields[0] == name, Array(blob.prefix(4)) == keyHash else { continue }
            guard Ed25519.verify(publicKey: publicKey, signature: Array(blob.dropFirst(4)), message: body) else {
                throw NoteError("the signature by \(name) does not verify")
            }
            return String(decoding: body, as: UTF8.self)
        }
        throw NoteError("the note carries no signature by \(name)+\(Hex.encode(keyHash))")
    }
}

/// A C2SP signed-note signer: the key name and its Ed25519 key.
public struct NoteSigner: Sendable {
    public let verifier: NoteVerifier
    let key: Ed25519PrivateKey

    public init(name: String, key: Ed25519PrivateKey) {
        verifier = NoteVerifier(name: name, publicKey: key.publicKey)
        self.key = key
    }

    /// `body` (lines ending in `\n`), an empty line, and this key's signature line; nil
    /// only when libcrypto fails.
    public func sign(body: String) -> String? {
        guard let signature = key.sign(Array(body.utf8)) else { return nil }
        return body + "\n\u{2014} \(verifier.name) \(Base64.encode(verifier.keyHash + signature))\n"
    }

    /// The key file's text (the form Go's `note` package reads):
    /// `PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || seed)>`.
    public var privateKeyText: String {
        "PRIVATE+KEY+\(verifier.name)+\(Hex.encode(verifier.keyHash))+\(Base64.encode([NoteVerifier.ed25519] + key.seed))"
    }

    /// The signer of a key file's text; nil when it is not one.
    public init?(privateKeyText text: some StringProtocol) {
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", NoteVerifier.isValidName(parts[2]),
            let blob = Base64.decode(parts[4]), blob.count == 33, blob[0] == NoteVerifier.ed25519,
            let key = Ed25519PrivateKey(seed: Array(blob[1...]))
        else { return nil }
        self.init(name: String(parts[2]), key: key)
        guard Hex.encode(verifier.keyHash) == parts[3] else { return nil }
    }
}

/// A note that does not parse or verify; the message says what is wrong.
public struct NoteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
