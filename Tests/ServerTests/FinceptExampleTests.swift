import Foundation
import Testing

/// tools/examples/fincept-tiers.sh against a live server: it exits 0, and the server then
/// holds the five plans, the two accounts and their keys as the script describes.
@Test func theFinceptExampleRunsAgainstALiveServer() throws {
    let f = try ServerFixture()
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/examples/fincept-tiers.sh")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["bash", script.path]
    process.environment = [
        "KEYLEDGER_URL": "http://127.0.0.1:\(f.port)", "KEYLEDGER_TOKEN": f.root,
        "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
    ]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(printed.contains("user key") && printed.contains("rotated itself"))
    #expect(!printed.contains("fk_user_") && !printed.contains("fk_guest_"))
    let c = try f.client()
    let plans = try c.call("GET", "/v1/plans", headers: f.auth).list
    #expect(Set(plans.compactMap { $0["plan"] as? String }) == ["guest", "free", "basic", "standard", "pro"])
    let guest = try c.call("GET", "/v1/keys?owner=guest_1", headers: f.auth).list
    #expect(guest.count == 1 && guest.first?["credits"] as? Int == 50 && guest.first?["refill"] is NSNull)
    #expect(guest.first?["purgeAfterSeconds"] as? Int == 604_800)
    #expect(try c.call("GET", "/v1/owners/user_1", headers: f.auth).data["plan"] as? String == "pro")
    let user = try c.call("GET", "/v1/keys?owner=user_1", headers: f.auth).list
    #expect(user.first?["selfRotate"] as? Bool == true && user.first?["rotatedAt"] is String)
}
