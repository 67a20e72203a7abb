import Events
import Glibc
import JSON
import Ledger
import Logging
import Rendering

/// `keyledger checkpoint`: the signed note of the tree as it stands.
enum CheckpointCommand: CLICommand {
    static let name = "checkpoint"
    static let summary = "print the signed checkpoint of the current tree"
    static let about = """
        Prints the C2SP tlog-checkpoint signed note of the log's Merkle tree as it stands (what
        GET /v1/ledger/checkpoint answers), signed with the ledger's key. Reads only; safe while
        a server runs.
        """

    static let options: [Option] = [
        .data,
        .text(
            "origin", "TEXT", configuration: true, shownDefault: "keyledger/<ledger id>", "the note's first line"),
        .flag("vkey", "print the verifier key (vkey) instead, to pin it"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        let checkpoints = try TreeCheckpoints(ledger: ledger, options: .init(origin: parsed.value("origin")))
        if parsed.has("vkey") {
            print(checkpoints.signer.verifier.vkey)
        } else {
            print(try checkpoints.current(), terminator: "")
        }
        return 0
    }
}

/// `keyledger verify-export`: checks an export with proofs, offline.
enum VerifyExportCommand: CLICommand {
    static let name = "verify-export"
    static let summary = "check an export with proofs offline against the ledger's vkey"
    static let arguments = "FILE"
    static let about = """
        Checks an export written by `keyledger export --proofs` or GET /v1/audit/export, with
        nothing but the file: the checkpoint's signature by VKEY; for every event, that its
        record hashes to its hash, that its JSON says what its record says, that its prevHash
        is the hash of the seq before when that event is in the file too, and that its
        inclusion proof leads to the signed root. Exit 0 when all hold, else 1 naming the seq.
        """

    static let options: [Option] = [
        .text(
            "vkey", "VKEY", configuration: true, required: true,
            "the ledger's verifier key (GET /v1/ledger/key, or keyledger checkpoint --vkey)"),
        .text(
            "previous", "NOTE",
            "a file holding an earlier checkpoint you pinned: the export's checkpoint must extend it"),
        .text(
            "consistency", "PROOF",
            "a file holding the answer of GET /v1/ledger/proof/consistency?from=<previous size>&to=<export size> "
                + "(needed with --previous when the sizes differ)"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args, positional: 1)
        guard parsed.positional.count == 1 else { throw UsageError("verify-export takes one FILE") }
        guard let vkey = parsed.value("vkey") else { throw UsageError("--vkey VKEY is required") }
        guard let verifier = NoteVerifier(vkey: vkey) else { throw UsageError("--vkey \(vkey) is not a vkey") }
        let export = try readFile(parsed.positional[0])
        var previous: TreeCheckpoint?
        var consistency: [Digest] = []
        if let path = parsed.value("previous") {
            let note = String(decoding: try readFile(path), as: UTF8.self)
            do {
                previous = try TreeCheckpoint(note: note, verifier: verifier)
            } catch {
                Log.error("verify-export: FAILED: --previous \(path): \(error)")
                return 1
            }
            if let proofPath = parsed.value("consistency") {
                guard let proof = consistencyHashes(try readFile(proofPath)) else {
                    throw UsageError("--consistency \(proofPath) holds no consistency proof answer")
                }
                consistency = proof
            }
        }
        do {
            let report = try ExportVerification.verify(
                export, verifier: verifier, previous: previous, consistency: consistency)
            var text = "verify-export: OK: \(report.events) events in the tree of size \(report.checkpoint.size)"
            text += " (\(report.checkpoint.origin)), \(report.linksChecked) chain links checked"
            if let previous { text += ", consistent with the checkpoint of size \(previous.size)" }
            print(text)
            return 0
        } catch {
            Log.error("verify-export: FAILED: \(error)")
            return 1
        }
    }

    /// The hashes of a consistency-proof answer (the envelope, or its `data`).
    static func consistencyHashes(_ bytes: [UInt8]) -> [Digest]? {
        guard var object = try? JSONParser.parse(bytes).objectValue else { return nil }
        if let data = object["data"]?.objectValue { object = data }
        guard let values = object["hashes"]?.arrayValue else { return nil }
        let hashes = values.compactMap { $0.stringValue.flatMap(ExportVerification.digest(hex:)) }
        return hashes.count == values.count ? hashes : nil
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "r") else {
            throw UsageError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
        }
        return bytes
    }
}
