import Events
import Foundation
import Glibc
import Ledger
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
