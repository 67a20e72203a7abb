import Events
import Foundation
import Glibc
import Ledger
import Testing

/// Runs `python3 -c script args...`; the status and stdout.
func runPython(_ script: String, _ args: [String]) throws -> (status: Int32, out: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + args
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The C2SP signed-note check, written from the spec in Python with `cryptography`'s
/// Ed25519 (not KeyLedger's code): prints the origin, size and root of a verified note.
let pythonNoteCheck = """
    import base64, hashlib, sys
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    note, vkey = sys.argv[1], sys.argv[2]
    name, keyhash, key = vkey.split("+", 2)
    key = base64.b64decode(key, validate=True)
    assert key[0] == 1 and len(key) == 33
    assert hashlib.sha256(name.encode() + b"\\n" + key).digest()[:4].hex() == keyhash
    body, sigs = note.split("\\n\\n", 1)
    body += "\\n"
    lines = sigs.split("\\n")
    assert lines[-1] == "" and len(lines) == 2, lines
    dash, signame, blob = lines[0].split(" ")
    assert dash == "\\u2014" and signame == name
    blob = base64.b64decode(blob, validate=True)
    assert blob[:4].hex() == keyhash and len(blob) == 68
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], body.encode())
    origin, size, root = body.split("\\n")[:3]
    assert len(base64.b64decode(root, validate=True)) == 32
    print(origin, size, base64.b64decode(root).hex())
    """

@Test func theCheckpointKeyIsMadeOnceInTheDataDirectoryWithMode0600() throws {
    let f = try LedgerFixture()
    let path = f.directory.path + "/" + Ledger.checkpointKeyFile
    var st = stat()
    #expect(stat(path, &st) == 0)
    #expect(st.st_mode & 0o777 == 0o600)
    let id = try f.ledger.ledgerID()
    let vkey = try f.ledger.checkpointSigner().verifier.vkey
    try f.reopen()
    #expect(try f.ledger.ledgerID() == id)
    #expect(try f.ledger.checkpointSigner().verifier.vkey == vkey)
    #expect(vkey.hasPrefix("keyledger/\(id)+"))
    // A ledger of before checkpoints (no key file) gets one at its next writable open.
    unlink(path)
    try f.reopen()
    #expect(access(path, F_OK) == 0)
    #expect(try f.ledger.checkpointSigner().verifier.vkey != vkey)
}

@Test func aCheckpointIsTheExactC2SPNoteAndVerifiesWithPythonsEd25519() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create()
    for _ in 0..<20 { _ = try f.verify(secret) }
    let checkpoints = try TreeCheckpoints(ledger: f.ledger)
    let head = try f.ledger.treeHead()
    let note = try checkpoints.current()
    let id = try f.ledger.ledgerID()
    let body = "keyledger/\(id)\n\(head.size)\n\(Data(head.root.bytes).base64EncodedString())\n"
    #expect(note.hasPrefix(body + "\n\u{2014} keyledger/\(id) "))
    #expect(note.hasSuffix("\n") && note.split(separator: "\n").count == 4)
    let vkey = checkpoints.signer.verifier.vkey
    let checked = try runPython(pythonNoteCheck, [note, vkey])
    #expect(checked.status == 0)
    #expect(checked.out == "keyledger/\(id) \(head.size) \(head.root.hex)\n")
    // Ours parses it back; one byte changed, or another key, and it is refused.
    let verifier = try #require(NoteVerifier(vkey: vkey))
    #expect(
        try TreeCheckpoint(note: note, verifier: verifier)
            == TreeCheckpoint(origin: "keyledger/\(id)", size: head.size, root: head.root))
    let tampered = note.replacingOccurrences(of: "\n\(head.size)\n", with: "\n\(head.size + 1)\n")
    #expect(throws: NoteError.self) { try TreeCheckpoint(note: tampered, verifier: verifier) }
    #expect(try runPython(pythonNoteCheck, [tampered, vkey]).status != 0)
    let other = NoteSigner(name: "keyledger/\(id)", key: try #require(Ed25519PrivateKey.generate()))
    #expect(throws: NoteError.self) { try TreeCheckpoint(note: note, verifier: other.verifier) }
    let forged = try #require(other.sign(body: body))
    #expect(throws: NoteError.self) { try TreeCheckpoint(note: forged, verifier: verifier) }
    #expect(try runPython(pythonNoteCheck, [forged, vkey]).status != 0)
}

@Test func checkpointsAreStoredWhileTheLogGrowsAndPublishedSynced() throws {
    let f = try LedgerFixture()
    let publish = TempDirectory()
    defer { publish.remove() }
    let checkpoints = try TreeCheckpoints(ledger: f.ledger, options: .init(publishDirectory: publish.path))
    checkpoints.start(interval: 0.05)
    let (_, secret) = try f.create()
    for _ in 0..<3 {
        _ = try f.verify(secret)
        usleep(150_000)
    }
    _ = try f.verify(secret)
    checkpoints.stop()
    let stored = try f.ledger.storedCheckpoints(after: 0, limit: 100)
    #expect(stored.count >= 3)
    #expect(stored.last?.size == f.headSeq)
    #expect(stored.map(\.size) == stored.map(\.size).sorted())
    let verifier = checkpoints.signer.verifier
    for (size, note) in stored {
        let checkpoint = try TreeCheckpoint(note: note, verifier: verifier)
        #expect(checkpoint.size == size)
        #expect(checkpoint.root == (try f.ledger.treeRoot(size: size)))
        #expect((try? String(contentsOfFile: "\(publish.path)/\(size).checkpoint", encoding: .utf8)) == note)
    }
    #expect(try f.ledger.storedCheckpoints(after: stored[0].size, limit: 1).map(\.size) == [stored[1].size])
    // Nothing new: stopping again stores nothing.
    checkpoints.stop()
    #expect(try f.ledger.storedCheckpoints(after: 0, limit: 100).count == stored.count)
}
