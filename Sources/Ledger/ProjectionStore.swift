import Glibc
import Store

/// Opens the projections' environment (`DIR/projections`), committed without sync: its
/// contents are derived from the log. A process crash loses nothing LMDB committed; an
/// operating-system crash may tear pages that were never synced. So the environment
/// records the boot it is written under and whether it was closed cleanly (synced): an
/// environment found dirty from another boot is deleted, and rebuilt from the log like a
/// missing one.
enum ProjectionStore {
    static let bootKey = Array("boot-id".utf8)
    static let cleanKey = Array("closed-cleanly".utf8)

    /// What opening found.
    enum Found: Equatable {
        /// The environment was there and usable.
        case intact
        /// There was none (a new ledger, a deleted directory, an earlier layout).
        case missing
        /// It was written under another boot and not closed cleanly: deleted.
        case torn
    }

    /// The kernel's id of this boot (`/proc/sys/kernel/random/boot_id`), empty when unknown.
    static func bootID() -> [UInt8] {
        let fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 64) }
        guard n > 0 else { return [] }
        return Array(buffer[..<n]).filter { $0 != 10 }
    }

    /// Opens the projections environment for writing: deletes a torn one, creates a
    /// missing one, and marks it open (not closed cleanly, this boot), synced before any
    /// projection commit.
    static func openWritable(dataPath: String, options: EnvironmentOptions) throws -> (Environment, Found) {
        let path = dataPath + "/" + LedgerSchema.projectionsDirectory
        var found = Found.intact
        if access(path + "/data.mdb", F_OK) != 0 {
            found = .missing
        } else {
            let probe = try Environment(path: path, tables: LedgerSchema.projectionTableSpecs, options: options)
            let state = probe.table(LedgerSchema.projectionStateSpec.name)
            let (boot, clean) = try probe.read { txn in (try txn.get(state, bootKey), try txn.get(state, cleanKey)) }
            if clean != [1] && boot != bootID() { found = .torn }
        }
        if found == .torn {
            for file in ["data.mdb", "lock.mdb"] { unlink(path + "/" + file) }
        }
        var options = options
        options.noSync = true
        let environment = try Environment(path: path, tables: LedgerSchema.projectionTableSpecs, options: options)
        let state = environment.table(LedgerSchema.projectionStateSpec.name)
        try environment.write { txn in
            try txn.put(state, bootKey, bootID())
            try txn.put(state, cleanKey, [0])
        }
        try environment.sync()
        return (environment, found)
    }

    /// Syncs every commit, then records the clean close (synced too).
    static func markClosed(_ environment: Environment) throws {
        try environment.sync()
        let state = environment.table(LedgerSchema.projectionStateSpec.name)
        try environment.write { txn in try txn.put(state, cleanKey, [1]) }
        try environment.sync()
    }
}
