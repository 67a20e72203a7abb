import Foundation
import Glibc
import Store
import Testing

private func temporaryPath() -> String { NSTemporaryDirectory() + "keyledger-journal-" + UUID().uuidString }

private let specs = [TableSpec("t"), TableSpec("meta")]

/// Batches are durable in the journal before readers see them; a commit of the
/// generation makes them visible. The journal's frames, applied to an empty copy, give
/// the same rows (a crash before the commit loses nothing), a child transaction undone
/// inside a batch leaves nothing in its frame, and frames already committed are not
/// applied twice.
@Test func journaledBatchesAreDurableFirstAndRecoveredExactly() throws {
    let path = temporaryPath()
    let copyPath = temporaryPath()
    defer {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: copyPath)
    }
    let env = try Environment(path: path, tables: specs)
    let t = env.table("t")
    let writer = try JournaledWriter(
        environment: env, journal: try Journal(directory: path, capacity: 1 << 20), state: env.table("meta"),
        key: "generation")
    #expect(writer.generation == 1)
    struct Undone: Error {}
    _ = try writer.batch { txn in try txn.put(t, [1], [10]) }
    _ = try writer.batch { txn in
        try txn.put(t, [2], [20])
        try txn.delete(t, [1])
    }
    let (_, committed) = try writer.batch { txn in
        try? txn.nested { child in
            try child.put(t, [3], [30])
            throw Undone()
        }
        try txn.put(t, [4], [40], append: true)
    }
    #expect(!committed)
    #expect(writer.hasUncommitted)
    // Readers see none of it yet; the journal holds all three batches.
    #expect(try env.read { txn in try txn.count(t) } == 0)
    let frames = try #require(Journal.read(directory: path))
    #expect(frames.generation == 1)
    #expect(frames.payloads.count == 3)

    // What a crash now would leave: the frames, applied to a ledger that lacks them.
    let copy = try Environment(path: copyPath, tables: specs)
    #expect(try JournaledWriter.recover(copy, directory: path, state: copy.table("meta"), key: "generation") == 3)
    let expected: [[UInt8]: [UInt8]] = [[2]: [20], [4]: [40]]
    func rows(_ e: Environment) throws -> [[UInt8]: [UInt8]] {
        try e.read { txn in
            var all: [[UInt8]: [UInt8]] = [:]
            try txn.withCursor(e.table("t")) { cursor in
                var entry = try cursor.first()
                while let (k, v) = entry {
                    all[Array(k)] = Array(v)
                    entry = try cursor.next()
                }
            }
            return all
        }
    }
    #expect(try rows(copy) == expected)
    // Applied once: a second recovery of the same frames does nothing.
    #expect(try JournaledWriter.recover(copy, directory: path, state: copy.table("meta"), key: "generation") == 0)

    try writer.commitGeneration()
    #expect(!writer.hasUncommitted)
    #expect(writer.generation == 2)
    #expect(try rows(env) == expected)
    #expect(try JournaledWriter.recover(env, directory: path, state: env.table("meta"), key: "generation") == 0)

    // The next generation starts over at the file's start; the older frames after its
    // first one are not read as its own.
    _ = try writer.batch { txn in try txn.put(t, [5], [50]) }
    let next = try #require(Journal.read(directory: path))
    #expect(next.generation == 2)
    #expect(next.payloads.count == 1)
    // A generation left open holds LMDB's write lock: it commits before the environment closes.
    try writer.commitGeneration()
}

/// A torn frame (a byte of it changed, as a write cut short leaves it) ends the journal:
/// the frames before it are read, it and the ones after are not.
@Test func aTornFrameEndsTheJournal() throws {
    let path = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let env = try Environment(path: path, tables: specs)
    let t = env.table("t")
    let writer = try JournaledWriter(
        environment: env, journal: try Journal(directory: path, capacity: 1 << 20), state: env.table("meta"),
        key: "generation")
    for i in 0..<3 { _ = try writer.batch { txn in try txn.put(t, [UInt8(i)], [UInt8](repeating: 7, count: 100)) } }
    let whole = try #require(Journal.read(directory: path))
    #expect(whole.payloads.count == 3)
    // The second frame starts after the first: 24 header bytes and the payload padded to 8.
    let second = 24 + (whole.payloads[0].count + 7) / 8 * 8
    let fd = open(path + "/" + Journal.fileName, O_RDWR)
    #expect(fd >= 0)
    var byte: UInt8 = 0
    #expect(pread(fd, &byte, 1, off_t(second + 40)) == 1)
    byte ^= 0xFF
    #expect(pwrite(fd, &byte, 1, off_t(second + 40)) == 1)
    close(fd)
    let torn = try #require(Journal.read(directory: path))
    #expect(torn.payloads == Array(whole.payloads.prefix(1)))
    try writer.commitGeneration()
}

/// When the map fills in the middle of a generation, the generation's transaction is
/// begun again in a larger map with the earlier batches' writes made again: every batch
/// is there after the commit, once.
@Test func aMapThatFillsMidGenerationLosesNoBatch() throws {
    let path = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = EnvironmentOptions()
    options.initialMapSize = 256 * 1024
    let env = try Environment(path: path, tables: specs, options: options)
    let t = env.table("t")
    let writer = try JournaledWriter(
        environment: env, journal: try Journal(directory: path, capacity: 8 << 20), state: env.table("meta"),
        key: "generation")
    let value = [UInt8](repeating: 0xAB, count: 3000)
    var runs = 0
    for i in 0..<400 {
        _ = try writer.batch { txn in
            runs += 1
            try txn.put(t, withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }, value, append: true)
        }
    }
    try writer.commitGeneration()
    #expect(runs > 400, "the map never filled")
    #expect(try env.mapUsage().size > 256 * 1024)
    #expect(try env.read { txn in try txn.count(t) } == 400)
}

/// Frames of every size, across the file's blocks (written past the page cache, whole
/// blocks at a time, where the file system allows it): each one reads back whole, in
/// order, and a generation started over reads back alone, not the longer one before it.
@Test func framesAcrossBlocksReadBackWhole() throws {
    let path = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let journal = try Journal(directory: path, capacity: 1 << 20)
    if fileSystemType(of: path) == "ext4" { #expect(journal.isDirect) }
    var rng = SystemRandomNumberGenerator()
    let sizes = [1, 4072, 4073, 10, 9000, 4096, 3, 8192 - 24, 77, 20_000] + (0..<40).map { _ in Int.random(in: 1...6000, using: &rng) }
    let first = sizes.map { size in (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    for payload in first { try journal.append(payload, generation: 1) }
    let whole = try #require(Journal.read(directory: path))
    #expect(whole.generation == 1)
    #expect(whole.payloads.count == first.count)
    let same = whole.payloads == first  // (not printed: megabytes)
    #expect(same)
    journal.restart()
    let second = Array(first.prefix(5).reversed())
    for payload in second { try journal.append(payload, generation: 2) }
    let read = try #require(Journal.read(directory: path))
    #expect(read.generation == 2)
    #expect(read.payloads.count == second.count)
    let alone = read.payloads == second
    #expect(alone)
}

/// The type of the file system `path` is on, from /proc/mounts (its longest mount point).
private func fileSystemType(of path: String) -> String? {
    guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var best: (point: Substring, type: Substring)?
    for line in mounts.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count > 2 else { continue }
        let point = fields[1]
        let under = point == "/" || resolved == String(point) || resolved.hasPrefix(String(point) + "/")
        if under, point.count > (best?.point.count ?? -1) { best = (point, fields[2]) }
    }
    return best.map { String($0.type) }
}
