public import Events
import Glibc
import Store

extension Ledger {
    /// The checkpoint signing key's file in the data directory (mode 0600; it never leaves).
    public static let checkpointKeyFile = "checkpoint.key"
    static let ledgerIDKey = "ledger-id"

    /// Gives a ledger opened for writing what its checkpoints need: a stable ledger id
    /// in the meta table and the Ed25519 signing key in ``checkpointKeyFile``, each made
    /// once (at init, or at the first writable open of a ledger made before them).
    static func prepareCheckpointKey(_ environment: Environment, meta: Table) throws(LedgerError) {
        let id: String
        do {
            id = try environment.write { txn in
                let key = Array(ledgerIDKey.utf8)
                if let stored = try txn.get(meta, key) { return String(decoding: stored, as: UTF8.self) }
                let made = Hex.encode(SystemRandom.bytes(16))
                try txn.put(meta, key, Array(made.utf8))
                return made
            }
        } catch {
            throw .unavailable("cannot store the ledger id: \(error)")
        }
        let path = environment.path + "/" + checkpointKeyFile
        guard access(path, F_OK) != 0 else { return }
        guard let key = Ed25519PrivateKey.generate() else {
            throw .unavailable("libcrypto cannot make an Ed25519 key")
        }
        let text = NoteSigner(name: "keyledger/\(id)", key: key).privateKeyText + "\n"
        try writeSynced(text, to: path, directory: environment.path, mode: 0o600)
    }

    /// Writes `text` to a new file `path` (mode `mode`, or fails when it exists), then
    /// fsyncs the file and its directory, so that the file survives a crash once this
    /// returns.
    static func writeSynced(_ text: String, to path: String, directory: String, mode: mode_t) throws(LedgerError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .unavailable("cannot create \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        Glibc.close(fd)
        guard written == bytes.count, synced else {
            unlink(path)
            throw .unavailable("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            Glibc.close(dir)
        }
    }

    /// The ledger's id (hex), made at its first writable open.
    public func ledgerID() throws(LedgerError) -> String {
        try read { txn in
            guard let stored = try txn.get(meta, Array(Self.ledgerIDKey.utf8)) else {
                throw LedgerError.unavailable("the ledger has no id yet: open it for writing once")
            }
            return String(decoding: stored, as: UTF8.self)
        }
    }

    /// The checkpoint signer, read from ``checkpointKeyFile``.
    ///
    /// - Throws: ``LedgerError/unavailable(_:)`` when the file is missing or unreadable.
    public func checkpointSigner() throws(LedgerError) -> NoteSigner {
        let path = environment.path + "/" + Self.checkpointKeyFile
        guard let signer = Self.readSigner(path) else {
            throw .unavailable("cannot read a checkpoint signing key from \(path)")
        }
        return signer
    }

    /// The signer in the key file at `path`; nil when it is missing or holds no key.
    static func readSigner(_ path: String) -> NoteSigner? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = fread(&buffer, 1, buffer.count, file)
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return NoteSigner(privateKeyText: text.trimmingSuffix("\n"))
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : self[...]
    }
}
