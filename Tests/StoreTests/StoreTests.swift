import Events
import Foundation
import Store
import Testing

func withEnvironment(_ tables: [TableSpec], _ body: (Environment) throws -> Void) throws {
    let path = NSTemporaryDirectory() + "keyledger-store-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(try Environment(path: path, tables: tables))
}

@Test func writesCommitAndThrowingAborts() throws {
    try withEnvironment([TableSpec("t")]) { env in
        let t = env.table("t")
        try env.write { txn in try txn.put(t, [1], [10]) }
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try env.write { (txn) throws in
                try txn.put(t, [2], [20])
                throw Boom()
            }
        }
        try env.read { (txn) throws in
            #expect(try txn.get(t, [1]) == [10])
            #expect(try txn.get(t, [2]) == nil)
            #expect(try txn.count(t) == 1)
        }
    }
}

@Test func appendRefusesAKeyBelowTheLast() throws {
    try withEnvironment([TableSpec("log")]) { env in
        let log = env.table("log")
        try env.write { (txn) throws in
            try txn.put(log, [0, 2], [1], append: true)
            #expect(throws: LMDBError.keyExists) { try txn.put(log, [0, 1], [1], append: true) }
        }
    }
}

@Test func cursorsSeekBothWays() throws {
    try withEnvironment([TableSpec("t")]) { env in
        let t = env.table("t")
        try env.write { txn in for k: UInt8 in [10, 20, 30] { try txn.put(t, [k], [k]) } }
        try env.read { (txn) throws in
            try txn.withCursor(t) { (c) throws in
                #expect(try c.seek(atLeast: [15]).map { Array($0.key) } == [20])
                #expect(try c.seek(atMost: [15]).map { Array($0.key) } == [10])
                #expect(try c.seek(atMost: [20]).map { Array($0.key) } == [20])
                #expect(try c.seek(atMost: [99]).map { Array($0.key) } == [30])
                #expect(try c.seek(atMost: [5]) == nil)
            }
        }
    }
}

/// Posting lists against a model: random lists of random gaps (1 byte to 9 bytes as
/// varints), appended one value at a time in one environment and in random runs (some
/// repeating values already filed) in another, over several transactions.
@Test(arguments: [1, 2, 3]) func postingListsMatchAModel(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    // Prefix-free list keys: a tag, then a fixed-size field.
    let lists: [[UInt8]] = (0..<6).map { [UInt8($0 % 3), UInt8($0), 7] }
    var model = [[UInt64]](repeating: [], count: lists.count)
    for l in lists.indices {
        var value = rng.next() % 1000
        for _ in 0..<(l == 0 ? 3 : 200 + Int(rng.next() % 900)) {
            let width = rng.next() % 5
            value += 1 + (width == 0 ? rng.next() % (1 << 40) : width == 1 ? rng.next() % 20_000 : rng.next() % 100)
            model[l].append(value)
        }
    }
    try withEnvironment([TableSpec("one"), TableSpec("runs")]) { env in
        let one = env.table("one")
        let runs = env.table("runs")
        var filed = [Int](repeating: 0, count: lists.count)
        while filed.indices.contains(where: { filed[$0] < model[$0].count }) {
            try env.write { (txn) throws in
                for l in lists.indices.shuffled(using: &rng) where filed[l] < model[l].count {
                    let end = min(model[l].count, filed[l] + 1 + Int(rng.next() % 300))
                    for value in model[l][filed[l]..<end] { try txn.appendPosting(one, lists[l], value) }
                    // A run starting a few values back: those are filed already.
                    let from = max(0, filed[l] - Int(rng.next() % 3))
                    try txn.withCursor(runs) { (cursor) throws in
                        try lists[l].withUnsafeBytes { (key) throws in
                            try model[l][from..<end].withUnsafeBufferPointer { try cursor.appendPostings(key, $0) }
                        }
                    }
                    filed[l] = end
                }
            }
        }
        try env.read { (txn) throws in
            // Filing is deterministic: both ways give the same rows.
            let rows = try txn.withCursor(one) { (c) throws in try allRows(&c) }
            #expect(try txn.withCursor(runs) { (c) throws in try allRows(&c) } == rows)
            #expect(rows.allSatisfy { $0.value.count <= PostingBlock.capacity })
            // A rebuild packs lists in memory: the same rows.
            var built: [Row] = []
            var packer = PostingListPacker()
            func row(_ l: Int, _ first: UInt64, _ gaps: [UInt8]) -> Row {
                Row(key: lists[l] + withUnsafeBytes(of: first.bigEndian) { Array($0) }, value: gaps)
            }
            for _ in lists { _ = packer.addList() }
            // The lists' values interleaved, as a log's are.
            var next = [Int](repeating: 0, count: lists.count)
            while let l = lists.indices.filter({ next[$0] < model[$0].count + 2 }).randomElement(using: &rng) {
                // The last two again: skipped.
                let value = next[l] < model[l].count ? model[l][next[l]] : model[l][model[l].count - 2 + next[l] - model[l].count]
                next[l] += 1
                if packer.add(value, to: l) { built.append(row(l, packer.closedFirst, packer.closedGaps)) }
            }
            for l in lists.indices {
                packer.withOpenBlock(l) { first, gaps in built.append(row(l, first, Array(gaps))) }
            }
            #expect(built.sorted { $0.key.lexicographicallyPrecedes($1.key) } == rows)
            #expect(rows.count > lists.count && rows.count < model.map(\.count).reduce(0, +) / 20)
            try txn.withCursor(one) { (cursor) throws in
                var reader = PostingReader(cursor)
                for l in lists.indices {
                    let values = model[l]
                    var all: [UInt64] = []
                    try reader.forEach(in: lists[l], from: 0) {
                        all.append($0)
                        return true
                    }
                    #expect(all == values)
                    for _ in 0..<200 {
                        let low = values[0] - 1 + rng.next() % (values.last! - values[0] + 3)
                        var some: [UInt64] = []
                        try reader.forEach(in: lists[l], from: low) {
                            some.append($0)
                            return some.count < 5
                        }
                        #expect(some == Array(values.filter { $0 >= low }.prefix(5)))
                    }
                    // Walks down, as audit pages do, and jumps.
                    var bound = values.last! + 10
                    while let found = try reader.largest(in: lists[l], atMost: bound) {
                        #expect(found == values.last { $0 <= bound })
                        let jump = rng.next() % 4 == 0 ? rng.next() % 5000 : 0
                        bound = found > jump + 1 ? found - 1 - jump : 0
                    }
                    #expect(values.first! > bound)
                }
                #expect(try reader.largest(in: [9, 9, 9], atMost: .max) == nil)
                #expect(try reader.largest(in: [UInt8](repeating: 1, count: 600), atMost: .max) == nil)
            }
        }
    }
}

private struct Row: Equatable {
    let key: [UInt8]
    let value: [UInt8]
}

/// Every row of a table, copied.
private func allRows(_ cursor: inout Cursor) throws -> [Row] {
    var rows: [Row] = []
    var entry = try cursor.first()
    while let e = entry {
        rows.append(Row(key: Array(e.key), value: Array(e.value)))
        entry = try cursor.next()
    }
    return rows
}

@Test func aDamagedPostingBlockThrows() throws {
    try withEnvironment([TableSpec("p")]) { env in
        let p = env.table("p")
        let list: [UInt8] = [1, 2]
        let start = UInt64(5).bigEndian
        let row = list + withUnsafeBytes(of: start) { Array($0) }
        // A truncated varint, a zero gap, a gap past UInt64.max.
        for gaps: [UInt8] in [[0x81], [3, 0], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]] {
            try env.write { txn in try txn.put(p, row, gaps) }
            try env.read { (txn) throws in
                try txn.withCursor(p) { (cursor) throws in
                    var reader = PostingReader(cursor)
                    #expect(throws: PostingListError.self) { _ = try reader.largest(in: list, atMost: 1 << 62) }
                }
            }
            #expect(throws: PostingListError.self) { try env.write { txn in try txn.appendPosting(p, list, 1 << 62) } }
        }
    }
}

@Test func anErrorCarriesLMDBsMessage() {
    #expect(LMDBError.mapFull.message.contains("MDB_MAP_FULL"))
    #expect(LMDBError.noSpace.description.hasPrefix("no space left on the data directory's device"))
}

private func fileSize(_ path: String) -> Int {
    var status = stat()
    return stat(path, &status) == 0 ? Int(status.st_size) : -1
}

/// The writer's zero-fill keeps the data file written past LMDB's last page, and what LMDB
/// then writes into that tail (commits synced by the next sync, as the writer's are) is
/// what a reopened environment reads, record for record.
@Test func zeroFillKeepsTheFileAheadAndLMDBWritesIntoIt() throws {
    let path = NSTemporaryDirectory() + "keyledger-store-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = EnvironmentOptions()
    options.noMetaSync = true
    let chunk = 1 << 20
    func key(_ n: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) } }
    func value(_ n: Int) -> [UInt8] { (0..<1000).map { UInt8(truncatingIfNeeded: n &* 31 &+ $0) } }
    var lastSize = 0
    do {
        let env = try Environment(path: path, tables: [TableSpec("log")], options: options)
        let log = env.table("log")
        let fill = ZeroFill(env, chunk: chunk, lowWater: 2 * chunk, minimumFree: 0)
        let before = fileSize(path + "/data.mdb")
        fill.zeroFillAhead()
        #expect(!fill.disabled)
        #expect(fileSize(path + "/data.mdb") >= before + chunk)
        // About 6 MB of records, in batches, zero-filling between them as the writer does.
        for batch in 0..<60 {
            try env.writeDeferringMetaSync { txn in
                for n in batch * 100..<(batch + 1) * 100 { try txn.put(log, key(n), value(n), append: true) }
            }
            fill.zeroFillAhead()
            let size = fileSize(path + "/data.mdb")
            #expect(size >= lastSize)
            lastSize = size
        }
        try env.sync()
        #expect(!fill.disabled)
        #expect(lastSize > 6_000_000 + chunk, "the file ends \(lastSize) bytes in: no zeroed tail past the records")
    }
    let env = try Environment(path: path, tables: [TableSpec("log")], options: options)
    let log = env.table("log")
    try env.read { (txn) throws in
        #expect(try txn.count(log) == 6000)
        for n in stride(from: 0, to: 6000, by: 7) { #expect(try txn.get(log, key(n)) == value(n)) }
    }
}
