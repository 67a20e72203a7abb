import Foundation
import Glibc
import Testing

/// A writer killed with batches only in its journal leaves them for the next writable
/// open: a read-only command on the ledger meanwhile says that its view lacks them, and a
/// writable open applies them (after it, the read-only command says nothing more).
@Test func aReadOnlyOpenSaysWhatTheJournalHoldsAfterAKill() throws {
    var template = Array("/tmp/keyledger-journal-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Generations of a second: a kill lands in one.
    let (bench, benchLog) = try startKeyledger([
        "bench", "--data", dir, "--keys", "20", "--submitters", "4", "--seconds", "30", "--journal-ms", "1000",
    ])
    defer { try? FileManager.default.removeItem(atPath: benchLog) }
    Thread.sleep(forTimeInterval: 1.5)
    kill(bench.processIdentifier, SIGKILL)
    bench.waitUntilExit()
    let warning = "the journal holds acknowledged batches the log's file does not include yet"
    let before = try LoggedRun(["verify-chain", "--data", dir])
    #expect(before.status == 0, "\(before.lines)")
    #expect(before.lines.contains { $0.contains(warning) }, "\(before.lines)")
    let replay = try LoggedRun(["replay", "--data", dir])
    #expect(replay.status == 0, "\(replay.lines)")
    #expect(replay.lines.contains { $0.contains("applied the journal's uncommitted batches") }, "\(replay.lines)")
    let after = try LoggedRun(["verify-chain", "--data", dir])
    #expect(after.status == 0)
    #expect(!after.lines.contains { $0.contains(warning) }, "\(after.lines)")
}
