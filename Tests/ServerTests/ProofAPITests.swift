import Events
import Foundation
import JSON
import Ledger
import Testing

func digest(hex: String) -> Digest? {
    guard hex.utf8.count == 64 else { return nil }
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes.withUnsafeBytes { Digest(bytes: $0) }
}

/// Checks one exported or listed event: its record is what its chain hash covers, and
/// (with `proof` and a checkpoint) its inclusion proof leads to the checkpoint's root.
func checkEvent(_ event: [String: Any], checkpoint: TreeCheckpoint?) -> Bool {
    guard let seq = event["seq"] as? Int, let recordText = event["record"] as? String,
        let record = Base64.decode(recordText), let prev = (event["prevHash"] as? String).flatMap({ digest(hex: $0) }),
        let hash = (event["hash"] as? String).flatMap({ digest(hex: $0) })
    else { return false }
    guard record.withUnsafeBytes({ Digest.sha256(prev, $0) }) == hash else { return false }
    guard let checkpoint else { return true }
    guard let proof = event["proof"] as? [String] else { return false }
    let path = proof.compactMap { digest(hex: $0) }
    return MerkleVerification.verifyInclusion(
        leafHash: record.withUnsafeBytes { MerkleHash.leaf($0) }, leaf: UInt64(seq - 1), size: checkpoint.size,
        path: path, root: checkpoint.root)
}

@Test func checkpointsAndProofsOverHTTPVerifyWithTheLedgersKey() throws {
    let f = try ServerFixture()
    let (_, secret) = try f.createKey(#"{"owner":"org_42","name":"gw","scopes":["read"]}"#)
    _ = try f.createKey(#"{"owner":"org_7","name":"other"}"#)
    let c = try f.client()
    var seq = ""
    for _ in 0..<20 { seq = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#).headers["x-ledger-seq"] ?? "" }
    // The last verification's event is the log's last: reading with its seq sees it.
    #expect(seq == "\(f.eventCount)")

    let key = try c.call("GET", "/v1/ledger/key", headers: f.auth)
    #expect(key.status == 200 && key.data["algorithm"] as? String == "ed25519")
    let verifier = try #require(NoteVerifier(vkey: key.data["vkey"] as? String ?? ""))
    #expect(Base64.encode(verifier.publicKey) == key.data["publicKey"] as? String)
    #expect(verifier.name == key.data["name"] as? String)

    let response = try c.call("GET", "/v1/ledger/checkpoint?minSeq=\(seq)", headers: f.auth)
    #expect(response.status == 200 && response.headers["content-type"] == "text/plain; charset=utf-8")
    let checkpoint = try TreeCheckpoint(note: String(decoding: response.body, as: UTF8.self), verifier: verifier)
    // It includes the verifications (minSeq); the reads' own records follow them.
    #expect(checkpoint.size >= UInt64(seq) ?? .max && checkpoint.size < f.eventCount)
    #expect(checkpoint.origin == "keyledger/\(try f.ledger.ledgerID())")

    // Every event's record (include=record) is in the checkpoint's tree.
    let events = try c.call("GET", "/v1/events?include=record&limit=\(checkpoint.size)", headers: f.auth).list
    #expect(events.count == Int(checkpoint.size))
    for event in events {
        let seq = event["seq"] as? Int ?? 0
        let proof = try c.call("GET", "/v1/ledger/proof/inclusion?seq=\(seq)&size=\(checkpoint.size)", headers: f.auth)
        #expect(proof.status == 200 && proof.data["leafIndex"] as? Int == seq - 1)
        var withProof = event
        withProof["proof"] = proof.data["hashes"]
        #expect(checkEvent(withProof, checkpoint: checkpoint), "seq \(seq)")
    }
    #expect(!checkEvent(events[3].merging(["proof": [String]()]) { $1 }, checkpoint: checkpoint))

    // A later tree is consistent with this one.
    _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#)
    let later = try TreeCheckpoint(
        note: String(decoding: try c.call("GET", "/v1/ledger/checkpoint", headers: f.auth).body, as: UTF8.self),
        verifier: verifier)
    let consistency = try c.call(
        "GET", "/v1/ledger/proof/consistency?from=\(checkpoint.size)&to=\(later.size)", headers: f.auth)
    #expect(consistency.status == 200 && consistency.data["to"] as? Int == Int(later.size))
    let hashes = (consistency.data["hashes"] as? [String] ?? []).compactMap { digest(hex: $0) }
    #expect(
        MerkleVerification.verifyConsistency(
            from: checkpoint.size, to: later.size, fromRoot: checkpoint.root, toRoot: later.root, proof: hashes))

    // Bad sizes are 400s naming the field.
    for bad in [
        "proof/inclusion?seq=0&size=3", "proof/inclusion?seq=4&size=3", "proof/inclusion?size=3",
        "proof/inclusion?seq=1&size=100000", "proof/consistency?from=5&to=4", "proof/consistency?from=1&to=100000",
        "checkpoints?limit=0",
    ] {
        let answer = try c.call("GET", "/v1/ledger/\(bad)", headers: f.auth)
        #expect(answer.status == 400 && answer.errorCode == "INVALID_REQUEST", "\(bad)")
    }
    #expect(try c.call("GET", "/v1/ledger/checkpoint").status == 401)
    #expect(try c.call("POST", "/v1/ledger/checkpoint", headers: f.auth).status == 405)
}

@Test func storedCheckpointsAreListedOldestFirstInPages() throws {
    let f = try ServerFixture()
    let checkpoints = try TreeCheckpoints(ledger: f.ledger)
    var sizes: [UInt64] = []
    for i in 0..<3 {
        _ = try f.createKey(#"{"owner":"org_42","name":"k\#(i)"}"#)
        try f.ledger.awaitProjections()
        let head = try f.ledger.treeHead()
        try checkpoints.record(head)
        sizes.append(head.size)
    }
    let c = try f.client()
    let first = try c.call("GET", "/v1/ledger/checkpoints?limit=2", headers: f.auth)
    #expect(first.list.map { $0["size"] as? Int } == sizes.prefix(2).map { Int($0) })
    #expect(first.json["nextCursor"] as? String == "\(sizes[1])")
    let rest = try c.call("GET", "/v1/ledger/checkpoints?after=\(sizes[1])", headers: f.auth)
    #expect(rest.list.map { $0["size"] as? Int } == [Int(sizes[2])])
    let note = rest.list.first?["note"] as? String ?? ""
    #expect(try TreeCheckpoint(note: note, verifier: checkpoints.signer.verifier).size == sizes[2])
}

@Test func anAuditKeyProvesAndExportsOnlyItsOwnersEvents() throws {
    let f = try ServerFixture()
    let (_, auditor) = try f.createKey(#"{"owner":"org_42","name":"auditor","scopes":["ledger:audit"]}"#)
    let (_, reader) = try f.createKey(#"{"owner":"org_42","name":"reader","scopes":["read"]}"#)
    _ = try f.createKey(#"{"owner":"org_7","name":"other"}"#)
    let c = try f.client()
    for _ in 0..<5 { _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(reader)"}"#) }
    let auth = ["Authorization": "Bearer \(auditor)"]
    let key = try c.call("GET", "/v1/ledger/key", headers: auth)
    #expect(key.status == 200)
    let verifier = try #require(NoteVerifier(vkey: key.data["vkey"] as? String ?? ""))
    #expect(try c.call("GET", "/v1/ledger/checkpoint", headers: auth).status == 200)
    #expect(try c.call("GET", "/v1/ledger/proof/consistency?from=1&to=3", headers: auth).status == 200)
    // Seq 1 is org_42's auditor key; seq 3 is org_7's key.
    #expect(try c.call("GET", "/v1/ledger/proof/inclusion?seq=1", headers: auth).status == 200)
    #expect(try c.call("GET", "/v1/ledger/proof/inclusion?seq=3", headers: auth).status == 403)
    #expect(try c.call("GET", "/v1/audit/export?owner=org_7", headers: auth).status == 403)
    #expect(try c.call("GET", "/v1/ledger/checkpoint", headers: ["Authorization": "Bearer \(reader)"]).status == 403)

    let export = try c.call("GET", "/v1/audit/export?format=ndjson", headers: auth)
    #expect(export.status == 200 && export.headers["content-type"] == "application/x-ndjson")
    let lines = String(decoding: export.body, as: UTF8.self).split(separator: "\n").map {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
    }
    let checkpoint = try TreeCheckpoint(note: lines[0]["checkpoint"] as? String ?? "", verifier: verifier)
    let events = lines.dropFirst()
    #expect(events.count >= 7)
    #expect(events.allSatisfy { $0["owner"] as? String == "org_42" })
    #expect(events.map { $0["seq"] as? Int ?? 0 } == events.map { $0["seq"] as? Int ?? 0 }.sorted())
    #expect(events.allSatisfy { checkEvent($0, checkpoint: checkpoint) })
    #expect(try c.call("GET", "/v1/audit/export?format=csv", headers: auth).status == 400)
}
