import Events
import Foundation
import JSON
import Ledger
import Notify
import Server
import Testing

/// A P-256 key made with the openssl command (not our code), as a scanner holds one.
private struct Scanner {
    let directory = NSTemporaryDirectory() + "keyledger-scanner-\(UInt64.random(in: 0...UInt64.max))"

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", directory + "/private.pem"])
        try run(["ec", "-in", directory + "/private.pem", "-pubout", "-out", directory + "/public.pem"])
    }

    func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    func keys() throws -> LeakReporterKeys {
        let pem = try String(contentsOfFile: directory + "/public.pem", encoding: .utf8)
        var w = JSONWriter()
        w.beginObject()
        w.key("public_keys")
        w.beginArray()
        w.beginObject()
        w.field("key_identifier", "kid1")
        w.field("key", pem)
        w.endObject()
        w.endArray()
        w.endObject()
        return try LeakReporterKeys(json: w.bytes)
    }

    /// The signature of `body`, which goes to openssl on its standard input (a report
    /// holds a key's secret: it is written to no file).
    func sign(_ body: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-sign", directory + "/private.pem"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(body.utf8))
        try input.fileHandleForWriting.close()
        let signature = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Base64.encode(signature)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

private func report(_ tokens: [String]) -> String {
    "["
        + tokens.map {
            #"{"token":"\#($0)","type":"keyledger_api_key","url":"https://github.com/o/r/blob/main/a.env","source":"content"}"#
        }
        .joined(separator: ",") + "]"
}

/// One at a time: each spawns openssl, and a child spawned while the other opens its
/// ledger could hold the ledger's lock file for an instant.
@Suite(.serialized) struct LeakAPITests {
    @Test func aSignedLeakReportSuspendsTheKeyAndAnswersInGitHubsFormat() throws {
        let scanner = try Scanner()
        defer { scanner.remove() }
        let keys = try scanner.keys()
        let f = try ServerFixture(notifications: { $0.leakReporters = keys })
        let (id, secret) = try f.createKey()
        let body = report([secret, "ghp_notoursatall000000000000000000000000"])
        let response = try f.client().call(
            "POST", "/v1/leaks", json: body,
            headers: ["Github-Public-Key-Identifier": "kid1", "Github-Public-Key-Signature": try scanner.sign(body)])
        #expect(response.status == 200)
        let labels = (try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: String]]) ?? []
        #expect(labels.map { $0["label"] } == ["true_positive", "false_positive"])
        #expect(labels.map { $0["token_raw"] } == [secret, "ghp_notoursatall000000000000000000000000"])
        #expect(labels.first?["token_type"] == "keyledger_api_key")
        let key = try f.client().call("GET", "/v1/keys/\(id)", headers: f.auth)
        #expect(key.data["status"] as? String == "suspended")
        let logs = try f.client().call("GET", "/v1/keys/\(id)/logs", headers: f.auth).list.map { $0["type"] as? String }
        #expect(logs.prefix(2) == ["key.suspended", "key.leaked"])
    }

    /// A bad signature is 401 and changes nothing; so is no signature and no credential; a
    /// ledger key may not report; the root token may, unsigned.
    @Test func leakReportsNeedAValidSignatureOrAnAdministrator() throws {
        let scanner = try Scanner()
        defer { scanner.remove() }
        let keys = try scanner.keys()
        let f = try ServerFixture(notifications: {
            $0.leakReporters = keys
            $0.leakPolicy = .revoke
        })
        let (id, secret) = try f.createKey()
        let manager = try f.createKey(#"{"owner":"org_42","name":"m","scopes":["ledger:keys","ledger:webhooks"]}"#)
            .secret
        let body = report([secret])
        let head = f.eventCount
        let forged = try f.client().call(
            "POST", "/v1/leaks", json: body,
            headers: [
                "Github-Public-Key-Identifier": "kid1", "Github-Public-Key-Signature": try scanner.sign(body + " "),
            ])
        #expect(forged.status == 401 && forged.errorCode == "UNAUTHORIZED")
        let unknown = try f.client().call(
            "POST", "/v1/leaks", json: body,
            headers: ["Github-Public-Key-Identifier": "other", "Github-Public-Key-Signature": try scanner.sign(body)])
        #expect(unknown.status == 401)
        #expect(try f.client().call("POST", "/v1/leaks", json: body).status == 401)
        // Nothing changed: the only events are the refusals' own audit records.
        try f.ledger.awaitLog()
        #expect(
            try f.ledger.events(after: head, limit: 10).map(\.event.type) == [.authFailed, .authFailed, .authFailed])
        #expect(
            try f.client().call("POST", "/v1/leaks", json: body, headers: ["Authorization": "Bearer \(manager)"]).status
                == 403)
        #expect(try f.client().call("GET", "/v1/keys/\(id)", headers: f.auth).data["status"] as? String == "active")
        let byRoot = try f.client().call("POST", "/v1/leaks", json: body, headers: f.auth)
        #expect(byRoot.status == 200)
        #expect(try f.client().call("GET", "/v1/keys/\(id)", headers: f.auth).data["status"] as? String == "revoked")
        let malformed = try f.client().call("POST", "/v1/leaks", json: #"{"token":"x"}"#, headers: f.auth)
        #expect(malformed.status == 400)
    }
}
