import Events
import Foundation
import JSON
import Notify
import Testing

/// A P-256 key pair made by the test with the openssl command (not our code), and
/// signatures it makes over a body, as GitHub signs its reports.
struct ScannerKey {
    let directory: String
    let publicPEM: String

    init() throws {
        directory = NSTemporaryDirectory() + "keyledger-scanner-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", directory + "/private.pem"])
        try Self.openssl(["ec", "-in", directory + "/private.pem", "-pubout", "-out", directory + "/public.pem"])
        publicPEM = try String(contentsOfFile: directory + "/public.pem", encoding: .utf8)
    }

    /// Base64 of the DER ECDSA-SHA256 signature of `body`.
    func sign(_ body: [UInt8]) throws -> String {
        try Data(body).write(to: URL(fileURLWithPath: directory + "/body"))
        try Self.openssl([
            "dgst", "-sha256", "-sign", directory + "/private.pem", "-out", directory + "/signature",
            directory + "/body",
        ])
        return Base64.encode(try Data(contentsOf: URL(fileURLWithPath: directory + "/signature")))
    }

    /// GitHub's public-keys JSON holding this key as `identifier`.
    func keysJSON(identifier: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("public_keys")
        w.beginArray()
        w.beginObject()
        w.field("key_identifier", identifier)
        w.field("key", publicPEM)
        w.field("is_current", true)
        w.endObject()
        w.endArray()
        w.endObject()
        return w.bytes
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
    }
}

@Test func leakReportSignaturesVerifyWithTheConfiguredKeyOnly() throws {
    let scanner = try ScannerKey()
    defer { scanner.remove() }
    let other = try ScannerKey()
    defer { other.remove() }
    let keys = try LeakReporterKeys(json: scanner.keysJSON(identifier: "abc123"))
    let body = Array(
        #"[{"token":"sk_live_x","type":"keyledger","url":"https://github.com/o/r","source":"content"}]"#.utf8)
    let signature = try scanner.sign(body)
    #expect(keys.verify(identifier: "abc123", signature: signature, body: body))
    // Another body, another key, an unknown identifier, garbage: all refused.
    #expect(!keys.verify(identifier: "abc123", signature: signature, body: body + [0x20]))
    #expect(!keys.verify(identifier: "abc123", signature: try other.sign(body), body: body))
    #expect(!keys.verify(identifier: "nope", signature: signature, body: body))
    #expect(!keys.verify(identifier: "abc123", signature: "not base64!", body: body))
    #expect(!keys.verify(identifier: "abc123", signature: "", body: body))
}

@Test func leakReporterKeyFilesAreCheckedWhenRead() throws {
    #expect(throws: (any Error).self) { try LeakReporterKeys(json: Array("{}".utf8)) }
    #expect(throws: (any Error).self) {
        try LeakReporterKeys(json: Array(#"{"public_keys":[{"key_identifier":"a","key":"junk"}]}"#.utf8))
    }
    #expect(try LeakReporterKeys(json: Array(#"{"public_keys":[]}"#.utf8)).isEmpty)
}
