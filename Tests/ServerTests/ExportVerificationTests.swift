import Events
import Foundation
import JSON
import Ledger
import Rendering
import Server
import Testing

/// Runs `program args...` (a path, or a name looked up in PATH); its status, stdout and stderr.
func run(_ program: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    process.arguments = program.hasPrefix("/") ? args : [program] + args
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
}

/// The repository's root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func keyledgerExecutable() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keyledger").path
}

/// An export's lines with the record of `seq` changed by `change` (the line otherwise kept).
func tampered(_ export: String, seq: Int, _ change: (inout [String: Any]) -> Void) throws -> String {
    var lines = export.split(separator: "\n").map(String.init)
    for i in lines.indices.dropFirst() {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(lines[i].utf8)) as? [String: Any])
        guard object["seq"] as? Int == seq else { continue }
        change(&object)
        lines[i] = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Every verifier the auditor may use: the Python tool (no KeyLedger code), the CLI and
/// the library; each gives the status and what it said.
func verifiers(_ path: String, vkey: String, extra: [String] = []) throws -> [(status: Int32, said: String)] {
    let python = try run("python3", [repositoryRoot + "/tools/verify_export.py", path, "--vkey", vkey] + extra)
    let cli = try run(try keyledgerExecutable(), ["verify-export", path, "--vkey", vkey] + extra)
    return [(python.status, python.out + python.err), (cli.status, cli.out + cli.err)]
}

@Test func anExportFromARealServerVerifiesOfflineAndEveryTamperingIsCaught() throws {
    let f = try ServerFixture()
    let (id, secret) = try f.createKey(
        #"{"owner":"org_42","name":"CRM Sync","scopes":["read"],"ipAllowlist":["10.0.0.0/8","2001:db8::/32"],"metadata":{"team":"crm","b":"ü"},"rateLimits":[{"limit":100,"windowSeconds":900}],"credits":50,"expiresAt":"2031-01-01T00:00:00Z"}"#
    )
    _ = try f.createKey(#"{"owner":"org_7","name":"other"}"#)
    let c = try f.client()
    for ip in ["10.1.2.3", "2001:db8::7", "192.0.2.1"] {
        _ = try c.call(
            "POST", "/v1/verify", json: #"{"key":"\#(secret)","scope":"read","ip":"\#(ip)","endpoint":"GET /x"}"#)
    }
    _ = try c.call("PATCH", "/v1/keys/\(id)", json: #"{"name":"Renamed","expiresAt":null}"#, headers: f.auth)
    _ = try c.call("POST", "/v1/keys/\(id)/credits", json: #"{"add":5}"#, headers: f.auth)
    _ = try c.call("POST", "/v1/keys/\(id)/rotate", json: #"{"gracePeriodSeconds":60}"#, headers: f.auth)
    _ = try c.call("POST", "/v1/keys/\(id)/suspend", json: #"{"reason":"audit"}"#, headers: f.auth)
    _ = try c.call("POST", "/v1/keys/\(id)/reactivate", headers: f.auth)
    _ = try c.call("DELETE", "/v1/keys/\(id)", headers: f.auth)
    // The audit records of management requests: failed logins, a ledger key's read.
    #expect(try c.call("GET", "/v1/keys", headers: ["X-API-Key": "wrong"]).status == 401)
    #expect(try c.call("GET", "/v1/keys", headers: ["X-API-Key": secret]).status == 401)
    let (_, reader) = try f.createKey(#"{"owner":"org_42","name":"reader","scopes":["ledger:audit"]}"#)
    #expect(try c.call("GET", "/v1/keys/\(id)/logs", headers: ["X-API-Key": reader]).status == 200)
    let vkey = try c.call("GET", "/v1/ledger/key", headers: f.auth).data["vkey"] as? String ?? ""
    let directory = f.directory

    // The whole log, and one owner's events (gaps in the chain, proofs still hold).
    for query in ["", "?owner=org_42"] {
        // The export's own record (ledger.request) follows it.
        let size = f.eventCount
        let selected = try f.events(after: 0).filter { query.isEmpty || $0.owner == "org_42" }.map(\.seq)
        let export = String(
            decoding: try c.call("GET", "/v1/audit/export\(query)", headers: f.auth).body, as: UTF8.self)
        let path = directory + "/export.ndjson"
        try export.write(toFile: path, atomically: true, encoding: .utf8)
        for (status, said) in try verifiers(path, vkey: vkey) {
            #expect(status == 0, "\(said)")
            #expect(said.contains("OK: \(selected.count) events in the tree of size \(size)"), "\(said)")
        }
        let report = try ExportVerification.verify(Array(export.utf8), verifier: #require(NoteVerifier(vkey: vkey)))
        #expect(report.events == selected.count)
        #expect(report.linksChecked == zip(selected, selected.dropFirst()).filter { $1 == $0 + 1 }.count)
    }
    let export = String(decoding: try c.call("GET", "/v1/audit/export", headers: f.auth).body, as: UTF8.self)
    let path = directory + "/bad.ndjson"

    // One record byte flipped.
    try tampered(export, seq: 4) { object in
        var record = Base64.decode(object["record"] as? String ?? "") ?? []
        record[record.count - 1] ^= 1
        object["record"] = Base64.encode(record)
    }.write(toFile: path, atomically: true, encoding: .utf8)
    for (status, said) in try verifiers(path, vkey: vkey) {
        #expect(status == 1 && said.contains("seq 4"), "\(said)")
    }
    // The JSON rewritten (the record left alone).
    try tampered(export, seq: 5) { object in object["owner"] = "org_9" }
        .write(toFile: path, atomically: true, encoding: .utf8)
    for (status, said) in try verifiers(path, vkey: vkey) {
        #expect(status == 1 && said.contains("seq 5"), "\(said)")
    }
    // A record rewritten with its hash and every later hash recomputed: the chain holds,
    // the inclusion proof does not.
    var lines = export.split(separator: "\n").map(String.init)
    var prev = Digest.zero
    for i in lines.indices.dropFirst() {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[i].utf8)) as? [String: Any])
        let seq = object["seq"] as? Int ?? 0
        let hash = try #require(ExportVerification.digest(hex: object["hash"] as? String ?? ""))
        guard seq >= 6 else {
            prev = hash
            continue
        }
        let record = Base64.decode(object["record"] as? String ?? "") ?? []
        var event = try record.withUnsafeBytes { try EventCodec.decode($0, seq: UInt64(seq)) }
        if seq == 6 { event.owner = "org_9" }
        let forged = EventCodec.encode(event)
        let forgedHash = forged.withUnsafeBytes { Digest.sha256(prev, $0) }
        var w = JSONWriter()
        EventJSON.write(event, prevHash: prev, hash: forgedHash, into: &w) { w in
            w.field("record", Base64.encode(forged))
            w.key("proof")
            w.beginArray()
            for hash in object["proof"] as? [String] ?? [] { w.string(hash) }
            w.endArray()
        }
        lines[i] = String(decoding: w.bytes, as: UTF8.self)
        prev = forgedHash
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    for (status, said) in try verifiers(path, vkey: vkey) {
        #expect(status == 1 && said.contains("seq 6") && said.contains("inclusion proof"), "\(said)")
    }
    // A checkpoint signed by another key.
    let other = try #require(Ed25519PrivateKey.generate())
    let signer = NoteSigner(name: String(vkey.prefix { $0 != "+" }), key: other)
    for (status, said) in try verifiers(directory + "/export.ndjson", vkey: signer.verifier.vkey) {
        #expect(status == 1 && said.contains("signature"), "\(said)")
    }
}

@Test func anExportIsCheckedAgainstAnEarlierPinnedCheckpoint() throws {
    let f = try ServerFixture()
    let (_, secret) = try f.createKey()
    let c = try f.client()
    for _ in 0..<5 { _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#) }
    let vkey = try c.call("GET", "/v1/ledger/key", headers: f.auth).data["vkey"] as? String ?? ""
    let pinned = String(decoding: try c.call("GET", "/v1/ledger/checkpoint", headers: f.auth).body, as: UTF8.self)
    let pinnedPath = f.directory + "/pinned.checkpoint"
    try pinned.write(toFile: pinnedPath, atomically: true, encoding: .utf8)
    let oldSize = try TreeCheckpoint(body: pinned.components(separatedBy: "\n\n")[0] + "\n").size
    for _ in 0..<7 { _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#) }
    let export = try c.call("GET", "/v1/audit/export", headers: f.auth).body
    let exportPath = f.directory + "/export.ndjson"
    try Data(export).write(to: URL(fileURLWithPath: exportPath))
    let size = try ExportVerification.verify(export, verifier: #require(NoteVerifier(vkey: vkey))).checkpoint.size
    let proof = try c.call("GET", "/v1/ledger/proof/consistency?from=\(oldSize)&to=\(size)", headers: f.auth).body
    let proofPath = f.directory + "/proof.json"
    try Data(proof).write(to: URL(fileURLWithPath: proofPath))
    let args = ["--previous", pinnedPath, "--consistency", proofPath]
    for (status, said) in try verifiers(exportPath, vkey: vkey, extra: args) { #expect(status == 0, "\(said)") }
    // A proof between other sizes does not bridge the pinned tree and the export's.
    let wrong = try c.call("GET", "/v1/ledger/proof/consistency?from=\(oldSize - 1)&to=\(size)", headers: f.auth)
    try Data(wrong.body).write(to: URL(fileURLWithPath: proofPath))
    for (status, said) in try verifiers(exportPath, vkey: vkey, extra: args) {
        #expect(status == 1 && said.contains("not consistent"), "\(said)")
    }
}
