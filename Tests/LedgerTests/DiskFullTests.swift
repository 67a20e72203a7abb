import Events
import Foundation
import Glibc
import Ledger
import Projections
import Testing

/// A 2 MiB tmpfs mounted on a new directory (needs root: the test skips itself otherwise).
struct SmallDisk {
    let path: String

    init?() {
        let dir = TempDirectory()
        guard mount("tmpfs", dir.path, "tmpfs", 0, "size=2m") == 0 else {
            dir.remove()
            return nil
        }
        path = dir.path
    }

    func remove() {
        umount(path)
        rmdir(path)
    }

    /// Fills what is left of the device with a file of our own (named `name`), so the
    /// next commits fail; returns its path (unlink it to free the room again).
    func fill(_ name: String = "filler") -> String {
        let filler = path + "/" + name
        let fd = open(filler, O_CREAT | O_WRONLY, 0o600)
        #expect(fd >= 0)
        let block = [UInt8](repeating: 0, count: 4096)
        while write(fd, block, block.count) == block.count {}
        close(fd)
        return filler
    }
}

/// Verifies `secret` until three verifications are refused as unavailable or `tries`
/// were made; returns how many were granted and refused.
func verifyUntilRefused(_ ledger: Ledger, _ secret: String, tries: Int) throws -> (granted: Int64, refused: Int) {
    var granted: Int64 = 0
    var refused = 0
    for _ in 0..<tries where refused < 3 {
        do {
            let verdict = try wait { done in
                ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done)
            }
            if verdict.isValid { granted += 1 }
        } catch {
            guard case LedgerError.unavailable = error else { throw error }
            refused += 1
        }
    }
    return (granted, refused)
}

/// A commit on a full disk says what happened and what to do, not "LMDB error 5", and
/// the command it failed changed nothing.
@Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
func aFullDiskSaysNoSpaceLeft() throws {
    guard let disk = SmallDisk() else { return }
    defer { disk.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    let ledger = try Ledger(path: disk.path, options: options)
    defer { ledger.close() }
    var failure: (any Error)?
    var created = 0
    while failure == nil, created < 100_000 {
        var spec = KeySpec(owner: "org_1", name: "key \(created)")
        spec.metadata = ["note": String(repeating: "x", count: 400)]
        do {
            _ = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
            created += 1
        } catch {
            failure = error
        }
    }
    let message = "\(try #require(failure))"
    #expect(
        message.contains("no space left on the data directory's device: free space or move the ledger"),
        "\(message)")
    #expect(!message.contains("LMDB error"))
    #expect(try ledger.head().seq == UInt64(created))
}

/// Verifications whose batch cannot be committed (the disk filled up under them) are
/// answered 503 and leave the writer's decision state as before them: once space is freed,
/// the credits left are those of the acknowledged verifications alone, as a fold of the
/// log gives them.
@Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
func aFailedCommitLeavesTheDecisionStateAsTheLogHasIt() throws {
    guard let disk = SmallDisk() else { return }
    defer { disk.remove() }
    var options = LedgerOptions()
    options.sweepInterval = nil
    let ledger = try Ledger(path: disk.path, options: options)
    defer { ledger.close() }
    let credits: Int64 = 1_000_000
    var spec = KeySpec(owner: "org_1", name: "metered")
    spec.credits = credits
    let (_, secret) = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
    try ledger.awaitProjections()

    let filler = disk.fill()
    let (granted, refused) = try verifyUntilRefused(ledger, secret, tries: 2_000)
    #expect(refused == 3, "the full device refused no commit")

    // With room again, the next verification spends exactly one more credit.
    unlink(filler)
    let after = try wait { done in ledger.verify(secret: secret, VerifyRequest(), context: rootContext, completion: done) }
    #expect(after.isValid)
    #expect(after.key?.credits == credits - granted - 1)
    try ledger.awaitProjections()
    try expectDecisionsEqualAFold(ledger, "after failed commits")
}
